//! Any `--set PATH=VALUE` lines on the baseline (see `armsim_fuzz::set_override`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armsim_fuzz::set_override(data));
