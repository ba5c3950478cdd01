//! Any text as a scenario file (see `armsim_fuzz::scenario_text`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armsim_fuzz::scenario_text(data));
