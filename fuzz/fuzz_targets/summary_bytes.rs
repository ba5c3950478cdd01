//! Any bytes as an encoded summary (see `armsim_fuzz::summary_bytes`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armsim_fuzz::summary_bytes(data));
