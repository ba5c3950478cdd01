//! Any text as a scenario file: the loader returns a scenario or located
//! diagnostics, and a scenario it accepts runs a few quarters without
//! panicking, hanging or producing non-finite outputs.
#![no_main]

use armsim::engine::{QuarterView, Simulator, run_rng};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(loaded) = armsim::scenario::load_str(text, "fuzz", "fuzz.toml", &["run.quarters=8".into()])
    else {
        return;
    };
    Simulator::new(&loaded.scenario).run(&mut run_rng(1, 0), &mut |v: &QuarterView<'_>| {
        assert!(v.budget.is_finite() && v.orders.iter().all(|x| x.is_finite()));
    });
});
