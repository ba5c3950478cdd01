//! Any bytes as an encoded summary (the payload of checkpoints and shard
//! states): a summary that is internally consistent, or an error; never a
//! panic and never an allocation larger than the limits validation puts on
//! scenarios.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(summary) = armsim::summary::Summary::decode(&mut &data[..]) {
        summary.check_consistency().expect("decode checks consistency");
    }
});
