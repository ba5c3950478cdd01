//! The experiment sections of a scenario file, `[experiment]` and
//! `[sensitivity]`, read and checked with located diagnostics like the rest
//! of the file.
//!
//! ```toml
//! [experiment]
//! outcomes = ["rolling_share:Russia@end", "max:embargo:world@start..end"]
//!
//! [sensitivity]
//! method = "sobol"          # or "morris"
//! samples = 512             # Sobol base samples N (N (D + 2) points)
//! trajectories = 20         # Morris r
//! levels = 4                # Morris p
//! runs = 200                # Monte Carlo runs per point
//! parameters = ["buyer.support_weight=0.5:3", "suppliers.Russia.stance_speed"]
//! ```
//!
//! Command-line options take precedence over the file; a parameter without
//! a range explores its documented range.

use crate::scenario::locate::Seg;
use crate::scenario::{Diagnostic, Loaded, ScenarioError};

use super::outcome::Outcome;
use super::sweep::Vary;

/// `[experiment]`: defaults every experiment on this scenario uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExperimentSection {
    /// Outcomes to report (empty: [`Outcome::defaults`]).
    pub outcomes: Vec<String>,
}

/// `[sensitivity]`: a sensitivity analysis ready to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SensitivitySection {
    /// `"sobol"` or `"morris"`.
    pub method: Option<String>,
    /// Parameters and ranges, as `--param` takes them.
    pub parameters: Vec<String>,
    /// Sobol base samples.
    pub samples: Option<usize>,
    /// Morris trajectories.
    pub trajectories: Option<usize>,
    /// Morris levels.
    pub levels: Option<usize>,
    /// Runs per point.
    pub runs: Option<u64>,
    /// Outcomes (overriding `[experiment]`'s).
    pub outcomes: Vec<String>,
}

struct Reader<'a> {
    loaded: &'a Loaded,
    section: &'static str,
    diagnostics: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn fail(
        &mut self,
        key: &str,
        index: Option<usize>,
        found: String,
        expected: impl Into<String>,
        note: Option<String>,
    ) {
        let mut path = vec![Seg::Key(self.section.into()), Seg::Key(key.into())];
        if let Some(i) = index {
            path.push(Seg::Index(i));
        }
        self.diagnostics
            .push(self.loaded.diagnostic(&path, found, expected, note));
    }

    fn strings(&mut self, table: &toml::Table, key: &str) -> Vec<String> {
        match table.get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    toml::Value::String(s) => Some(s.clone()),
                    other => {
                        self.fail(key, Some(i), other.to_string(), "a string", None);
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.fail(key, None, other.to_string(), "an array of strings", None);
                Vec::new()
            }
        }
    }

    fn whole(&mut self, table: &toml::Table, key: &str, least: i64, most: i64) -> Option<i64> {
        match table.get(key) {
            None => None,
            Some(toml::Value::Integer(n)) if (least..=most).contains(n) => Some(*n),
            Some(other) => {
                self.fail(
                    key,
                    None,
                    other.to_string(),
                    format!("a whole number from {least} to {most}"),
                    None,
                );
                None
            }
        }
    }

    fn unknown(&mut self, table: &toml::Table, valid: &[&str]) {
        for k in table.keys() {
            if !valid.contains(&k.as_str()) {
                self.fail(
                    k,
                    None,
                    format!("unknown field `{k}`"),
                    format!("one of: {}", valid.join(", ")),
                    crate::scenario::validate::did_you_mean(k, valid),
                );
            }
        }
    }

    fn check_outcomes(&mut self, key: &str, outcomes: &[String]) {
        for (i, o) in outcomes.iter().enumerate() {
            if let Err(e) = Outcome::parse(o, &self.loaded.scenario) {
                self.fail(
                    key,
                    Some(i),
                    format!("{o:?}"),
                    "an outcome (`armsim outcomes` lists them)",
                    Some(e.reason),
                );
            }
        }
    }

    fn finish<T>(self, value: T) -> Result<T, ScenarioError> {
        if self.diagnostics.is_empty() {
            Ok(value)
        } else {
            Err(ScenarioError::Invalid(self.diagnostics))
        }
    }
}

/// Reads `[experiment]`.
///
/// # Errors
/// [`ScenarioError::Invalid`] locating every problem.
pub fn experiment_section(loaded: &Loaded) -> Result<ExperimentSection, ScenarioError> {
    let Some(table) = &loaded.sections.experiment else {
        return Ok(ExperimentSection::default());
    };
    let mut r = Reader {
        loaded,
        section: "experiment",
        diagnostics: Vec::new(),
    };
    r.unknown(table, &["outcomes"]);
    let outcomes = r.strings(table, "outcomes");
    r.check_outcomes("outcomes", &outcomes);
    r.finish(ExperimentSection { outcomes })
}

/// Reads `[sensitivity]`, if the file has one.
///
/// # Errors
/// [`ScenarioError::Invalid`] locating every problem.
pub fn sensitivity_section(loaded: &Loaded) -> Result<Option<SensitivitySection>, ScenarioError> {
    let Some(table) = &loaded.sections.sensitivity else {
        return Ok(None);
    };
    let mut r = Reader {
        loaded,
        section: "sensitivity",
        diagnostics: Vec::new(),
    };
    r.unknown(
        table,
        &[
            "method",
            "parameters",
            "samples",
            "trajectories",
            "levels",
            "runs",
            "outcomes",
        ],
    );
    let method = match table.get("method") {
        None => None,
        Some(toml::Value::String(m)) if m == "sobol" || m == "morris" => Some(m.clone()),
        Some(other) => {
            r.fail(
                "method",
                None,
                other.to_string(),
                "\"sobol\" or \"morris\"",
                None,
            );
            None
        }
    };
    let parameters = r.strings(table, "parameters");
    for (i, p) in parameters.iter().enumerate() {
        if let Err(e) = Vary::parse(p, &loaded.scenario) {
            r.fail(
                "parameters",
                Some(i),
                format!("{p:?}"),
                "PATH or PATH=FROM:TO",
                Some(e.to_string()),
            );
        }
    }
    let samples = r.whole(table, "samples", 2, 65536).map(|n| n as usize);
    let trajectories = r
        .whole(table, "trajectories", 2, 100_000)
        .map(|n| n as usize);
    let levels = r.whole(table, "levels", 2, 1000).map(|n| n as usize);
    let runs = r.whole(table, "runs", 1, 1_000_000).map(|n| n as u64);
    let outcomes = r.strings(table, "outcomes");
    r.check_outcomes("outcomes", &outcomes);
    r.finish(Some(SensitivitySection {
        method,
        parameters,
        samples,
        trajectories,
        levels,
        runs,
        outcomes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    fn with(section: &str) -> Loaded {
        // The baseline without its own experiment sections.
        let model = crate::scenario::BASELINE_TOML
            .split("\n[experiment]")
            .next()
            .unwrap();
        let text = model.to_string() + "\n" + section;
        load_str(&text, "t", "t.toml", &[]).unwrap()
    }

    #[test]
    fn the_baselines_sections_are_valid() {
        let l = crate::scenario::load_baseline(&[]).unwrap();
        assert_eq!(experiment_section(&l).unwrap().outcomes.len(), 6);
        assert_eq!(
            sensitivity_section(&l).unwrap().unwrap().parameters.len(),
            8
        );
    }

    #[test]
    fn sections_are_read_and_their_mistakes_located() {
        let l = with(
            "[experiment]\noutcomes = [\"rolling_share:Russia@end\"]\n\n[sensitivity]\nmethod = \"morris\"\nparameters = [\"buyer.support_weight=0:2\"]\nruns = 50\n",
        );
        assert_eq!(
            experiment_section(&l).unwrap().outcomes,
            ["rolling_share:Russia@end"]
        );
        let s = sensitivity_section(&l).unwrap().unwrap();
        assert_eq!((s.method.as_deref(), s.runs), (Some("morris"), Some(50)));
        let l = with(
            "[sensitivity]\nmethod = \"sobel\"\nparameters = [\"buyer.suport_weight\"]\nrun = 3\n",
        );
        let err = sensitivity_section(&l).unwrap_err().to_string();
        assert!(err.contains("sensitivity.method: found \"sobel\""), "{err}");
        assert!(
            err.contains("sensitivity.parameters[0]") && err.contains("no parameter"),
            "{err}"
        );
        assert!(
            err.contains("unknown field `run`") && err.contains("did you mean `runs`"),
            "{err}"
        );
        assert!(err.contains("t.toml:"), "located: {err}");
        let l = with("[experiment]\noutcomes = [\"rolling_share:Rusia@end\"]\n");
        assert!(
            experiment_section(&l)
                .unwrap_err()
                .to_string()
                .contains("suppliers are Russia")
        );
    }
}
