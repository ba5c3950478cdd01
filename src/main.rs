//! The `armsim` command: parses the command line and calls the library.
//! Everything a researcher could call from Rust lives in the library; this
//! binary only parses, reports progress and prints.

/// `eprintln!` that never panics. The standard one panics when standard
/// error cannot be written (a full disk, a reader that went away), turning a
/// message into exit code 101; a message nobody can read is dropped instead,
/// and the exit code still says what happened. Defined before the modules so
/// that it replaces the standard macro in all of them.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;
#[cfg(feature = "serve")]
mod serve;

use std::process::ExitCode;

/// An error and its causes as one line, each said once: an I/O error's
/// message is often already part of the message of the error that wraps it
/// (`x: No such file (os error 2)`), and is not repeated.
pub(crate) fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

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
                eprintln!("error: {}", error_text(err.as_ref()));
            }
            ExitCode::from(1)
        }
    }
}
