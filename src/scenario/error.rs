//! Errors of the scenario layer: where in which file, which field, what was
//! found and what was expected.

use std::fmt;
use std::path::PathBuf;

/// One problem with a scenario: a located, explained diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or `--set` argument) the value came from.
    pub file: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// Field path such as `suppliers[2].support` (empty for file-level problems).
    pub field: String,
    /// What was found.
    pub found: String,
    /// What was expected.
    pub expected: String,
    /// Further help, such as which `--set` argument supplied the value.
    pub note: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": found {}, expected {}", self.found, self.expected)?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario; every problem found is listed.
    #[error("{}", list(.0))]
    Invalid(Vec<Diagnostic>),
    /// A `--set PATH=VALUE` argument does not name a parameter of the scenario.
    #[error("--set {arg}: {message}")]
    Override {
        /// The argument as given.
        arg: String,
        /// What is wrong, with the valid choices near it.
        message: String,
    },
}

fn list(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    lines.join("\n")
}

impl ScenarioError {
    /// The diagnostics of an invalid scenario (empty for other errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScenarioError::Invalid(d) => d,
            _ => &[],
        }
    }
}
