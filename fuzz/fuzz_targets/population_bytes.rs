//! Any bytes as an ABC population's payload behind a valid checksum (see
//! `armsim_fuzz::population_bytes`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armsim_fuzz::population_bytes(data));
