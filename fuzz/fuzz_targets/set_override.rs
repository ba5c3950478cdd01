//! Any `--set PATH=VALUE` arguments on the built-in baseline: an error that
//! names the argument, or a valid scenario; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let args: Vec<String> = text.lines().take(8).map(String::from).collect();
    let _ = armsim::scenario::load_baseline(&args);
});
