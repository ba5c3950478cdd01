//! Any bytes as a comparison checkpoint's payload behind a valid checksum
//! (see `armsim_fuzz::comparison_state_bytes`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armsim_fuzz::comparison_state_bytes(data));
