//! The `armsim` command: parses the command line and calls the library.
//! Everything a researcher could call from Rust lives in the library; this
//! binary only parses, reports progress and prints.

mod cli;
#[cfg(feature = "serve")]
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::main() {
        Ok(code) => code,
        Err(err) => {
            // Scenario diagnostics are one per line; print each as its own error.
            if let Some(armsim::scenario::ScenarioError::Invalid(diagnostics)) = err.downcast_ref()
            {
                for d in diagnostics {
                    eprintln!("error: {d}");
                }
                eprintln!("error: the scenario is invalid; nothing was run or written");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(1)
        }
    }
}
