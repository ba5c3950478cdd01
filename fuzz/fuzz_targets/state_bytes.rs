//! Any bytes as a state file (checkpoint or shard): a state whose checksum,
//! sizes, scenario and counts all check out, or an error; never a panic and
//! never an allocation beyond what its own scenario's validation allows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = armsim::state::StudyState::decode(data) {
        assert_eq!(state.summary.runs(), state.done - state.range.start);
    }
});
