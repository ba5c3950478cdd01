//! Any bytes as a state file's payload behind a valid checksum (see
//! `armsim_fuzz::state_bytes`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armsim_fuzz::state_bytes(data));
