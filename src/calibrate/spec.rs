//! The `[calibration]` section of a scenario file: what to fit, to what, and
//! how, read and validated into a [`Spec`].
//!
//! ```toml
//! [calibration]
//! data = "../data/myanmar_imports_sipri_tiv.csv"  # relative to the scenario file
//! recipient = "Thailand"        # for a file of several recipients
//! others = "Others"             # the scenario supplier that takes every SIPRI
//!                               # supplier not listed in [calibration.groups]
//! forecast = "myanmar_2021.toml" # the scenario to forecast with the posterior
//!                               # and to write calibrated (default: this one)
//! population = 1000             # ABC-SMC particles, and the settings below
//!
//! [calibration.groups]          # scenario supplier = SIPRI suppliers in it
//! Russia = ["Russia", "Soviet Union"]
//!
//! [[calibration.params]]        # a parameter to fit and its prior
//! path = "buyer.support_weight" # as `--set` writes it
//! prior = "uniform"             # uniform, log_uniform or normal
//! lo = 0.0                      # bounds: by default the documented range
//! hi = 4.0
//!
//! [[calibration.targets]]       # an observed statistic, computed from `data`
//! kind = "shares"               # each supplier's share of the window's deliveries
//! years = "2006..2010"          # ("lumpiness": the CV of annual totals;
//!                               # "total": the window's total deliveries)
//! scale = "mad"                 # or a number: the size of a difference that matters
//! ```
//!
//! Every problem is reported at once, each as a [`SpecIssue`]: a
//! [`SpecProblem`] (what kind of problem, for code) and a
//! [`Diagnostic`] (file, line, column, field, found, expected, for people),
//! exactly as the rest of a scenario file is checked. Nothing here runs the
//! model; [`Spec::statistics`] names the simulated statistics as outcomes
//! ([`crate::experiment::outcome`]) and [`Spec::observed`] computes the
//! observed ones from SIPRI's record ([`crate::data`]).

use std::path::{Path, PathBuf};

use super::prior::Prior;
use crate::data::{DataError, Grouped, Grouping, Imports, Years};
use crate::model::{Role, Scenario, Target};
use crate::scenario::locate::Seg;
use crate::scenario::validate::did_you_mean;
use crate::scenario::{Diagnostic, Loaded};

/// What kind of problem a [`SpecIssue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecProblem {
    /// The scenario has no `[calibration]` section.
    NoSection,
    /// A required field is missing.
    Missing,
    /// A field has the wrong type (a string where a number belongs, ...).
    WrongType,
    /// A field this section does not know.
    UnknownField,
    /// A number outside what the setting allows.
    OutOfRange,
    /// The data file cannot be read, or lacks what a target needs.
    Data,
    /// `groups` and `others` do not map SIPRI's suppliers onto the scenario's.
    Grouping,
    /// A parameter path names nothing, or a parameter that cannot be fitted.
    Parameter,
    /// The same parameter is listed twice.
    DuplicateParameter,
    /// A prior cannot be built from its settings.
    Prior,
    /// A target's kind or years are not usable.
    Target,
}

/// One problem with a `[calibration]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecIssue {
    /// Its kind.
    pub problem: SpecProblem,
    /// Where and what, in the words of every scenario error.
    pub diagnostic: Diagnostic,
}

/// Why a `[calibration]` section could not be read: every problem found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .issues.iter().map(|i| i.diagnostic.to_string()).collect::<Vec<_>>().join("\n"))]
#[non_exhaustive]
pub struct SpecError {
    /// The problems, in the order of the section.
    pub issues: Vec<SpecIssue>,
}

impl SpecError {
    /// Whether some issue is of kind `problem`.
    pub fn has(&self, problem: SpecProblem) -> bool {
        self.issues.iter().any(|i| i.problem == problem)
    }
}

/// What a target compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Each supplier's share of the window's deliveries (one statistic per
    /// supplier): SIPRI's five-year shares.
    Shares,
    /// The coefficient of variation of the window's annual total deliveries
    /// (one statistic): their year-to-year lumpiness.
    Lumpiness,
    /// The window's total deliveries, TIV millions (one statistic): how much
    /// of its budget the buyer spends abroad.
    Total,
}

impl TargetKind {
    fn name(self) -> &'static str {
        match self {
            TargetKind::Shares => "shares",
            TargetKind::Lumpiness => "lumpiness",
            TargetKind::Total => "total",
        }
    }
}

/// How a target's statistics are scaled in the ABC distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// By their median absolute deviation over a pilot sample of prior
    /// draws ([`super::abc::mad_scales`]), so that each counts by how much
    /// the prior lets it vary.
    Mad,
    /// By this number: a difference of this size counts as one unit.
    Fixed(f64),
}

/// One observed target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetSpec {
    /// What it compares.
    pub kind: TargetKind,
    /// The window of calendar years.
    pub years: Years,
    /// How its statistics are scaled.
    pub scale: Scale,
}

/// A parameter to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Its path, as `--set` writes it (`buyer.support_weight`).
    pub path: String,
    /// The parameter.
    pub target: Target,
    /// Its prior.
    pub prior: Prior,
}

/// A history-matching first wave ([`super::history`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaveSpec {
    /// Prior draws evaluated.
    pub points: u64,
    /// Replicate simulations per point.
    pub replicates: u32,
    /// Implausibility cutoff.
    pub cutoff: f64,
}

/// How the ABC runs; every field has a default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Master seed (default: the scenario's `run.seed`).
    pub seed: u64,
    /// Model runs averaged into one simulation's statistics (default 1).
    pub runs_per_simulation: u32,
    /// Prior draws whose statistics set the `mad` scales (default 1000).
    pub pilot_draws: u64,
    /// ABC-SMC particles (default 1000).
    pub population: usize,
    /// Prior draws of generation 0, the rejection baseline (default 4
    /// times the population).
    pub initial_draws: u64,
    /// Quantile of the distances that sets the next tolerance (default 0.5).
    pub alpha: f64,
    /// Most generations, generation 0 included (default 15).
    pub max_generations: u32,
    /// Stop when a generation's acceptance rate would fall below this
    /// (default 0.02).
    pub min_acceptance_rate: f64,
    /// Most simulations in all (default 1,000,000).
    pub max_simulations: u64,
    /// Particles drawn from the posterior for the predictive check of the
    /// targets (default 200).
    pub predictive_particles: usize,
    /// Runs per particle of the predictive check (default 10).
    pub predictive_runs: u64,
    /// Particles drawn from the posterior for the forecast (default 100).
    pub forecast_particles: usize,
    /// Runs per particle of the forecast (default 200).
    pub forecast_runs: u64,
}

/// A validated `[calibration]` section.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The SIPRI extract, resolved against the scenario file's directory.
    pub data: PathBuf,
    /// The recipient, for a file of several.
    pub recipient: Option<String>,
    /// SIPRI's suppliers grouped into the scenario's, in the scenario's
    /// supplier order (the catch-all where the scenario has it).
    pub grouping: Grouping,
    /// The parameters to fit, in order.
    pub params: Vec<ParamSpec>,
    /// The observed targets, in order.
    pub targets: Vec<TargetSpec>,
    /// The ABC settings.
    pub settings: Settings,
    /// An optional history-matching first wave.
    pub history_matching: Option<WaveSpec>,
    /// The scenario to forecast with and write calibrated, resolved against
    /// the scenario file's directory (`None`: the calibration scenario).
    pub forecast: Option<PathBuf>,
    /// Outcomes reported for the forecast (default: each supplier's rolling
    /// share at the horizon and five years before it, its support at the
    /// horizon, and whether an embargo was ever in force).
    pub forecast_outcomes: Option<Vec<String>>,
    /// SIPRI's record, grouped (read once, here).
    grouped: Grouped,
}

/// One simulated statistic: its name (an outcome) and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistic {
    /// The outcome text that computes it, such as
    /// `share:deliveries:China@2016..2020`.
    pub outcome: String,
    /// The target it belongs to.
    pub target: usize,
    /// The supplier, for a shares target.
    pub supplier: Option<usize>,
}

const KEYS: &[&str] = &[
    "data",
    "recipient",
    "others",
    "groups",
    "params",
    "targets",
    "forecast",
    "forecast_outcomes",
    "history_matching",
    "seed",
    "runs_per_simulation",
    "pilot_draws",
    "population",
    "initial_draws",
    "alpha",
    "max_generations",
    "min_acceptance_rate",
    "max_simulations",
    "predictive_particles",
    "predictive_runs",
    "forecast_particles",
    "forecast_runs",
];
const PARAM_KEYS: &[&str] = &["path", "prior", "lo", "hi", "mean", "sd"];
const TARGET_KEYS: &[&str] = &["kind", "years", "scale"];
const WAVE_KEYS: &[&str] = &["points", "replicates", "cutoff"];

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

fn at(path: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

/// A TOML value in the words of messages.
fn found(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Table(_) => "a table".into(),
        toml::Value::Array(_) => "an array".into(),
        v => v.to_string(),
    }
}

struct Reader<'a> {
    loaded: &'a Loaded,
    issues: Vec<SpecIssue>,
}

impl Reader<'_> {
    fn fail(
        &mut self,
        problem: SpecProblem,
        path: &[Seg],
        found: impl Into<String>,
        expected: impl Into<String>,
        note: Option<String>,
    ) {
        let diagnostic = self.loaded.diagnostic(path, found, expected, note);
        self.issues.push(SpecIssue {
            problem,
            diagnostic,
        });
    }

    fn unknown_keys(&mut self, table: &toml::Table, path: &[Seg], valid: &[&str]) {
        for k in table.keys() {
            if !valid.contains(&k.as_str()) {
                self.fail(
                    SpecProblem::UnknownField,
                    &at(path, key(k)),
                    format!("unknown field `{k}`"),
                    format!("one of: {}", valid.join(", ")),
                    did_you_mean(k, valid),
                );
            }
        }
    }

    fn string(&mut self, table: &toml::Table, path: &[Seg], k: &str) -> Option<String> {
        match table.get(k)? {
            toml::Value::String(s) => Some(s.clone()),
            v => {
                self.fail(
                    SpecProblem::WrongType,
                    &at(path, key(k)),
                    found(v),
                    "a string",
                    None,
                );
                None
            }
        }
    }

    fn number(&mut self, table: &toml::Table, path: &[Seg], k: &str) -> Option<f64> {
        match table.get(k)? {
            toml::Value::Float(x) if x.is_finite() => Some(*x),
            toml::Value::Integer(i) => Some(*i as f64),
            v => {
                self.fail(
                    SpecProblem::WrongType,
                    &at(path, key(k)),
                    found(v),
                    "a finite number",
                    None,
                );
                None
            }
        }
    }

    /// A whole number in `lo..=hi`, or `default` when absent.
    fn whole(
        &mut self,
        table: &toml::Table,
        path: &[Seg],
        k: &str,
        lo: u64,
        hi: u64,
        default: u64,
    ) -> u64 {
        match table.get(k) {
            None => default,
            Some(toml::Value::Integer(i)) if *i >= 0 && (lo..=hi).contains(&(*i as u64)) => {
                *i as u64
            }
            Some(v @ toml::Value::Integer(_)) => {
                self.fail(
                    SpecProblem::OutOfRange,
                    &at(path, key(k)),
                    found(v),
                    format!("a whole number from {lo} to {hi}"),
                    None,
                );
                default
            }
            Some(v) => {
                self.fail(
                    SpecProblem::WrongType,
                    &at(path, key(k)),
                    found(v),
                    format!("a whole number from {lo} to {hi}"),
                    None,
                );
                default
            }
        }
    }

    /// A number in `[lo, hi]` (or `(lo, hi)` when `open`), or `default`.
    #[allow(clippy::too_many_arguments)]
    fn fraction(
        &mut self,
        table: &toml::Table,
        path: &[Seg],
        k: &str,
        lo: f64,
        hi: f64,
        open: bool,
        default: f64,
    ) -> f64 {
        let Some(x) = self.number(table, path, k) else {
            return default;
        };
        let ok = if open {
            x > lo && x < hi
        } else {
            (lo..=hi).contains(&x)
        };
        if ok {
            x
        } else {
            let expected = if open {
                format!("a number strictly between {lo} and {hi}")
            } else {
                format!("a number from {lo} to {hi}")
            };
            self.fail(
                SpecProblem::OutOfRange,
                &at(path, key(k)),
                x.to_string(),
                expected,
                None,
            );
            default
        }
    }

    /// `"2006..2010"` or `"2006"` as years within the scenario's run.
    fn years(&mut self, value: &toml::Value, path: &[Seg], scenario: &Scenario) -> Option<Years> {
        let expected = "years such as \"2016..2020\" or \"2020\", within the run";
        let toml::Value::String(text) = value else {
            self.fail(SpecProblem::WrongType, path, found(value), expected, None);
            return None;
        };
        let (a, b) = text.split_once("..").unwrap_or((text, text));
        let (Ok(first), Ok(last)) = (a.trim().parse::<i32>(), b.trim().parse::<i32>()) else {
            self.fail(SpecProblem::Target, path, found(value), expected, None);
            return None;
        };
        let Ok(years) = Years::new(first, last) else {
            self.fail(
                SpecProblem::Target,
                path,
                found(value),
                expected,
                Some("the span ends before it starts".into()),
            );
            return None;
        };
        let start = scenario.start();
        let end = scenario.label(scenario.quarters() - 1);
        let first_whole = if start.q == 1 {
            start.year
        } else {
            start.year + 1
        };
        let last_whole = if end.q == 4 { end.year } else { end.year - 1 };
        if first < first_whole || last > last_whole {
            self.fail(
                SpecProblem::Target,
                path,
                found(value),
                expected,
                Some(format!(
                    "the run covers the whole years {first_whole} to {last_whole}"
                )),
            );
            return None;
        }
        Some(years)
    }
}

impl Settings {
    fn defaults(seed: u64) -> Settings {
        Settings {
            seed,
            runs_per_simulation: 1,
            pilot_draws: 1000,
            population: 1000,
            initial_draws: 4000,
            alpha: 0.5,
            max_generations: 15,
            min_acceptance_rate: 0.02,
            max_simulations: 1_000_000,
            predictive_particles: 200,
            predictive_runs: 10,
            forecast_particles: 100,
            forecast_runs: 200,
        }
    }
}

impl Spec {
    /// Reads `loaded`'s `[calibration]` section; relative paths in it are
    /// resolved against `base` (the scenario file's directory). The data
    /// file is read here, so that a missing file or window is reported with
    /// the rest.
    ///
    /// # Errors
    /// [`SpecError`] listing every problem found.
    pub fn read(loaded: &Loaded, base: &Path) -> Result<Spec, SpecError> {
        let scenario = &loaded.scenario;
        let mut r = Reader {
            loaded,
            issues: Vec::new(),
        };
        let root = vec![key("calibration")];
        let Some(table) = loaded.sections.calibration.as_ref() else {
            r.fail(
                SpecProblem::NoSection,
                &[],
                "no [calibration] section",
                "a [calibration] section (docs/calibration.md)",
                None,
            );
            return Err(SpecError { issues: r.issues });
        };
        r.unknown_keys(table, &root, KEYS);

        let s = read_settings(&mut r, table, &root, scenario.seed());
        let history_matching = read_history_matching(&mut r, table, &root);
        let forecast = r.string(table, &root, "forecast").map(|f| base.join(f));
        let forecast_outcomes = read_forecast_outcomes(&mut r, table, &root);
        let grouping = read_grouping(&mut r, table, &root, scenario);
        let recipient = r.string(table, &root, "recipient");
        let (data, imports) = read_data(&mut r, table, &root, base, recipient.as_deref());
        let grouped = match (&imports, &grouping) {
            (Some(i), Some(g)) => Some(i.group(g)),
            _ => None,
        };

        let params = read_params(&mut r, table, &root, scenario);
        let targets = read_targets(&mut r, table, &root, scenario, grouped.as_ref());

        if r.issues.is_empty() {
            Ok(Spec {
                data: data.expect("no issue, so data is read"),
                recipient,
                grouping: grouping.expect("no issue, so the grouping is built"),
                params,
                targets,
                settings: s,
                history_matching,
                forecast,
                forecast_outcomes,
                grouped: grouped.expect("no issue, so data is grouped"),
            })
        } else {
            Err(SpecError { issues: r.issues })
        }
    }

    /// The simulated statistics, in order: for each target, each supplier's
    /// share (shares), the CV of annual imports (lumpiness) or their sum
    /// (total), as outcome texts of `scenario`.
    pub fn statistics(&self, scenario: &Scenario) -> Vec<Statistic> {
        let mut out = Vec::new();
        for (t, target) in self.targets.iter().enumerate() {
            let years = format!("{}..{}", target.years.first(), target.years.last());
            match target.kind {
                TargetKind::Shares => {
                    for (i, s) in scenario.suppliers().iter().enumerate() {
                        out.push(Statistic {
                            outcome: format!("share:deliveries:{}@{years}", s.name()),
                            target: t,
                            supplier: Some(i),
                        });
                    }
                }
                TargetKind::Lumpiness => out.push(Statistic {
                    outcome: format!("cv:imports:buyer@{years}"),
                    target: t,
                    supplier: None,
                }),
                TargetKind::Total => out.push(Statistic {
                    outcome: format!("sum:imports:buyer@{years}"),
                    target: t,
                    supplier: None,
                }),
            }
        }
        out
    }

    /// The observed statistics, in the order of [`Spec::statistics`],
    /// computed from SIPRI's record.
    pub fn observed(&self, scenario: &Scenario) -> Vec<f64> {
        let names = self.grouped.names();
        let mut out = Vec::new();
        for target in &self.targets {
            match target.kind {
                TargetKind::Shares => {
                    let shares = self
                        .grouped
                        .shares(target.years)
                        .expect("validated: the window has deliveries");
                    for s in scenario.suppliers() {
                        let g = names
                            .iter()
                            .position(|n| n == s.name())
                            .expect("validated: every supplier is a group");
                        out.push(shares.shares[g]);
                    }
                }
                TargetKind::Lumpiness => out.push(
                    self.grouped
                        .lumpiness(target.years)
                        .expect("validated: the window has deliveries")
                        .total_cv,
                ),
                TargetKind::Total => out.push(
                    self.grouped
                        .shares(target.years)
                        .expect("validated: the window has deliveries")
                        .total,
                ),
            }
        }
        out
    }

    /// SIPRI's record grouped into the scenario's suppliers.
    pub fn grouped(&self) -> &Grouped {
        &self.grouped
    }
}

fn read_grouping(
    r: &mut Reader<'_>,
    table: &toml::Table,
    root: &[Seg],
    scenario: &Scenario,
) -> Option<Grouping> {
    let names: Vec<&str> = scenario.suppliers().iter().map(|s| s.name()).collect();
    let others = r.string(table, root, "others");
    if let Some(o) = &others
        && !names.contains(&o.as_str())
    {
        r.fail(
            SpecProblem::Grouping,
            &at(root, key("others")),
            format!("\"{o}\""),
            format!("one of the scenario's suppliers: {}", names.join(", ")),
            did_you_mean(o, &names),
        );
        return None;
    }
    let path = at(root, key("groups"));
    let groups = groups_table(r, table, root)?;
    let mut ok = true;
    let mut lists: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in groups {
        let here = at(&path, key(name));
        match read_group(r, &here, name, value, &names, others.as_deref()) {
            Some(list) => lists.push((name.clone(), list)),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| others.as_deref() != Some(*n) && !lists.iter().any(|(g, _)| g == n))
        .collect();
    if !missing.is_empty() {
        r.fail(
            SpecProblem::Grouping,
            &path,
            format!("no group for {}", missing.join(", ")),
            "every scenario supplier in [calibration.groups] or as `others`",
            None,
        );
        return None;
    }
    // Groups in the scenario's order; the catch-all is last in a Grouping,
    // and `observed` finds each supplier's group by name.
    let ordered: Vec<(String, Vec<String>)> = names
        .iter()
        .filter_map(|n| lists.iter().find(|(g, _)| g == n).cloned())
        .collect();
    match Grouping::new(ordered, others.as_deref()) {
        Ok(g) => Some(g),
        Err(e) => {
            r.fail(
                SpecProblem::Grouping,
                &path,
                e.to_string(),
                "each SIPRI supplier in one group at most",
                None,
            );
            None
        }
    }
}

/// The `[calibration.groups]` table, `None` after saying why not: missing,
/// or not a table.
fn groups_table<'t>(
    r: &mut Reader<'_>,
    table: &'t toml::Table,
    root: &[Seg],
) -> Option<&'t toml::Table> {
    match table.get("groups") {
        Some(toml::Value::Table(t)) => Some(t),
        Some(v) => {
            r.fail(
                SpecProblem::WrongType,
                &at(root, key("groups")),
                found(v),
                "a table: supplier = [\"SIPRI name\", ...]",
                None,
            );
            None
        }
        None => {
            r.fail(
                SpecProblem::Missing,
                root,
                "no [calibration.groups]",
                "a table mapping each scenario supplier to SIPRI's suppliers",
                None,
            );
            None
        }
    }
}

/// The SIPRI suppliers of the group of scenario supplier `name` (a
/// non-empty array of names), `None` after saying why not: not a supplier
/// of the scenario, the catch-all `others`, empty or not an array of names.
fn read_group(
    r: &mut Reader<'_>,
    here: &[Seg],
    name: &str,
    value: &toml::Value,
    names: &[&str],
    others: Option<&str>,
) -> Option<Vec<String>> {
    if !names.contains(&name) {
        r.fail(
            SpecProblem::Grouping,
            here,
            format!("`{name}`"),
            format!("one of the scenario's suppliers: {}", names.join(", ")),
            did_you_mean(name, names),
        );
        return None;
    }
    if others == Some(name) {
        r.fail(
            SpecProblem::Grouping,
            here,
            format!("`{name}`, which is also `others`"),
            "the catch-all group listed only as `others`",
            None,
        );
        return None;
    }
    match value {
        toml::Value::Array(items) if items.is_empty() => {
            // An empty group would observe zero deliveries every year and
            // fit its supplier's share to nothing.
            r.fail(
                SpecProblem::Grouping,
                here,
                "an empty list",
                "the SIPRI suppliers in this group (one or more), or the supplier as `others`",
                None,
            );
            None
        }
        toml::Value::Array(items) if items.iter().all(|v| v.is_str()) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        ),
        v => {
            r.fail(
                SpecProblem::WrongType,
                here,
                found(v),
                "an array of SIPRI supplier names",
                None,
            );
            None
        }
    }
}

/// Why `path` names no parameter of `scenario`, with the nearest valid
/// name where one is close (as `--set` says it).
fn unknown_path(scenario: &Scenario, path: &str) -> String {
    use crate::model::{BuyerParam, Param, SupplierParam, WorldParam};
    fn names<P: Param>(model: crate::model::ModelVersion) -> Vec<&'static str> {
        P::ALL
            .iter()
            .filter(|p| p.models().includes(model))
            .map(|p| p.name())
            .collect()
    }
    fn no(what: &str, given: &str, valid: &[&str]) -> String {
        let hint = did_you_mean(given, valid)
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
        format!("no {what} `{given}`{hint}")
    }
    let model = scenario.model();
    let segments: Vec<&str> = path.trim().split('.').collect();
    match segments.as_slice() {
        ["world", key] => no("world parameter", key, &names::<WorldParam>(model)),
        ["buyer", key] => no("buyer parameter", key, &names::<BuyerParam>(model)),
        ["suppliers", who, key] => {
            let suppliers: Vec<&str> = scenario.suppliers().iter().map(|s| s.name()).collect();
            let known = scenario.supplier_index(who).is_some()
                || who.parse::<usize>().is_ok_and(|i| i < suppliers.len());
            if !known {
                no("supplier", who, &suppliers)
            } else {
                no("supplier parameter", key, &names::<SupplierParam>(model))
            }
        }
        _ => "a path is world.KEY, buyer.KEY or suppliers.NAME.KEY".into(),
    }
}

/// The run settings of `[calibration]`: seed, runs, pilot, population,
/// ABC-SMC's schedule and stopping rules, the predictive check's and the
/// forecast's sizes; each a default where it is not given.
fn read_settings(r: &mut Reader<'_>, table: &toml::Table, root: &[Seg], seed: u64) -> Settings {
    let mut s = Settings::defaults(seed);
    s.seed = r.whole(table, root, "seed", 0, i64::MAX as u64, s.seed);
    s.runs_per_simulation = r.whole(table, root, "runs_per_simulation", 1, 1000, 1) as u32;
    s.pilot_draws = r.whole(table, root, "pilot_draws", 10, 1 << 24, s.pilot_draws);
    let before = r.issues.len();
    s.population = r.whole(table, root, "population", 10, 1 << 20, 1000) as usize;
    // A bad population is reported once, not again as a bound on the
    // initial draws.
    let least = if r.issues.len() > before {
        10
    } else {
        s.population as u64
    };
    s.initial_draws = r.whole(
        table,
        root,
        "initial_draws",
        least,
        1 << 30,
        (4 * s.population as u64).max(least),
    );
    s.alpha = r.fraction(table, root, "alpha", 0.0, 1.0, true, s.alpha);
    s.max_generations = r.whole(table, root, "max_generations", 1, 1000, 15) as u32;
    s.min_acceptance_rate = r.fraction(
        table,
        root,
        "min_acceptance_rate",
        0.0,
        1.0,
        false,
        s.min_acceptance_rate,
    );
    s.max_simulations = r.whole(
        table,
        root,
        "max_simulations",
        s.initial_draws,
        1 << 40,
        s.max_simulations.max(s.initial_draws),
    );
    s.predictive_particles = r.whole(table, root, "predictive_particles", 1, 100_000, 200) as usize;
    s.predictive_runs = r.whole(table, root, "predictive_runs", 1, 100_000, 10);
    s.forecast_particles = r.whole(table, root, "forecast_particles", 1, 100_000, 100) as usize;
    s.forecast_runs = r.whole(table, root, "forecast_runs", 1, 1_000_000, 200);
    s
}

/// `[calibration.history_matching]`, if given.
fn read_history_matching(
    r: &mut Reader<'_>,
    table: &toml::Table,
    root: &[Seg],
) -> Option<WaveSpec> {
    match table.get("history_matching") {
        None => None,
        Some(toml::Value::Table(t)) => {
            let path = at(root, key("history_matching"));
            r.unknown_keys(t, &path, WAVE_KEYS);
            Some(WaveSpec {
                points: r.whole(t, &path, "points", 10, 1 << 24, 1000),
                replicates: r.whole(t, &path, "replicates", 2, 1000, 5) as u32,
                cutoff: r.fraction(t, &path, "cutoff", 0.0, 100.0, true, 3.0),
            })
        }
        Some(v) => {
            r.fail(
                SpecProblem::WrongType,
                &at(root, key("history_matching")),
                found(v),
                "a table with points, replicates and cutoff",
                None,
            );
            None
        }
    }
}

/// `forecast_outcomes`, if given: an array of outcome texts.
fn read_forecast_outcomes(
    r: &mut Reader<'_>,
    table: &toml::Table,
    root: &[Seg],
) -> Option<Vec<String>> {
    match table.get("forecast_outcomes") {
        None => None,
        Some(toml::Value::Array(items)) if items.iter().all(|v| v.is_str()) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        ),
        Some(v) => {
            r.fail(
                SpecProblem::WrongType,
                &at(root, key("forecast_outcomes")),
                found(v),
                "an array of outcomes such as \"rolling_share:Russia@end\"",
                None,
            );
            None
        }
    }
}

/// `data`: the path (relative to the scenario file's directory `base`)
/// and the import extract read from it for `recipient`, each `None` after
/// saying why.
fn read_data(
    r: &mut Reader<'_>,
    table: &toml::Table,
    root: &[Seg],
    base: &Path,
    recipient: Option<&str>,
) -> (Option<PathBuf>, Option<Imports>) {
    let data_text = r.string(table, root, "data");
    let data = match &data_text {
        Some(d) => Some(base.join(d)),
        None => {
            if !table.contains_key("data") {
                r.fail(
                    SpecProblem::Missing,
                    root,
                    "no `data`",
                    "data = \"PATH\", a SIPRI import extract (data/)",
                    None,
                );
            }
            None
        }
    };
    let imports = data
        .as_ref()
        .and_then(|path| match Imports::load(path, recipient) {
            Ok(i) => Some(i),
            Err(e) => {
                // A file that cannot be opened: the value as written,
                // and where it led. Anything else: what is wrong in it.
                let (found, note) = match &e {
                    DataError::Io { path, source } => (
                        format!("\"{}\"", data_text.as_deref().unwrap_or_default()),
                        Some(format!("cannot read {}: {source}", path.display())),
                    ),
                    _ => (e.to_string(), None),
                };
                r.fail(
                    SpecProblem::Data,
                    &at(root, key("data")),
                    found,
                    "a readable SIPRI import extract, relative to the scenario file",
                    note,
                );
                None
            }
        });
    (data, imports)
}

fn read_params(
    r: &mut Reader<'_>,
    table: &toml::Table,
    root: &[Seg],
    scenario: &Scenario,
) -> Vec<ParamSpec> {
    let mut out: Vec<ParamSpec> = Vec::new();
    for (here, t) in array_of_tables(
        r,
        (table, root),
        "params",
        "one or more parameters to fit, each with a path and a prior",
        "a table with path and prior",
    ) {
        r.unknown_keys(t, &here, PARAM_KEYS);
        if let Some(param) = read_param(r, t, &here, scenario, &out) {
            out.push(param);
        }
    }
    out
}

/// The tables of `[[calibration.NAME]]` (`table` at `root`), each with
/// where it is. A missing or empty list (`wanted`: what it should hold)
/// and an item that is not a table (`item`: what it should be) are said
/// (before any problem within the tables), and give nothing.
fn array_of_tables<'t>(
    r: &mut Reader<'_>,
    (table, root): (&'t toml::Table, &[Seg]),
    name: &str,
    wanted: &str,
    item: &str,
) -> Vec<(Vec<Seg>, &'t toml::Table)> {
    let path = at(root, key(name));
    let items = match table.get(name) {
        Some(toml::Value::Array(items)) if !items.is_empty() => items,
        Some(v) => {
            r.fail(
                SpecProblem::WrongType,
                &path,
                found(v),
                format!("one or more [[calibration.{name}]] tables"),
                None,
            );
            return Vec::new();
        }
        None => {
            r.fail(
                SpecProblem::Missing,
                root,
                format!("no [[calibration.{name}]]"),
                wanted,
                None,
            );
            return Vec::new();
        }
    };
    let mut tables = Vec::new();
    for (index, value) in items.iter().enumerate() {
        let here = at(&path, Seg::Index(index));
        match value.as_table() {
            Some(t) => tables.push((here, t)),
            None => r.fail(SpecProblem::WrongType, &here, found(value), item, None),
        }
    }
    tables
}

/// One `[[calibration.params]]` table: a parameter the model can fit, not
/// listed before (in `earlier`), and its prior; `None` after saying why not.
fn read_param(
    r: &mut Reader<'_>,
    t: &toml::Table,
    here: &[Seg],
    scenario: &Scenario,
    earlier: &[ParamSpec],
) -> Option<ParamSpec> {
    let (p, target) = read_fitted_target(r, t, here, scenario, earlier)?;
    let prior = read_prior(r, t, here, &p, target)?;
    Some(ParamSpec {
        path: scenario.path_of(target),
        target,
        prior,
    })
}

/// A parameter's `path`: as written, and the target it names, if the model
/// can fit it (real-valued, not the initial state) and it is not listed
/// twice.
fn read_fitted_target(
    r: &mut Reader<'_>,
    t: &toml::Table,
    here: &[Seg],
    scenario: &Scenario,
    earlier: &[ParamSpec],
) -> Option<(String, Target)> {
    let Some(p) = r.string(t, here, "path") else {
        if !t.contains_key("path") {
            r.fail(
                SpecProblem::Missing,
                here,
                "no `path`",
                "path = \"buyer.support_weight\" (a parameter, as --set writes it)",
                None,
            );
        }
        return None;
    };
    let path_at = at(here, key("path"));
    let Some(target) = scenario.target(&p) else {
        r.fail(
            SpecProblem::Parameter,
            &path_at,
            format!("\"{p}\""),
            "a parameter path: world.KEY, buyer.KEY or suppliers.NAME.KEY (`armsim params`)",
            Some(unknown_path(scenario, &p)),
        );
        return None;
    };
    let domain = target.domain();
    let why_not = if !target.models().includes(scenario.model()) {
        Some(format!(
            "it is not a parameter of model {}",
            scenario.model()
        ))
    } else if target.role() == Role::Initial {
        Some("it sets up the initial state, which comes from the data".into())
    } else if domain.is_flag() || domain.is_integer() {
        Some("it takes yes/no or whole values, which ABC's moves cannot".into())
    } else {
        None
    };
    if let Some(reason) = why_not {
        r.fail(
            SpecProblem::Parameter,
            &path_at,
            format!("\"{p}\""),
            "a real-valued parameter of the model",
            Some(reason),
        );
        return None;
    }
    if earlier.iter().any(|q| q.target == target) {
        r.fail(
            SpecProblem::DuplicateParameter,
            &path_at,
            format!("\"{p}\""),
            "each parameter listed once",
            None,
        );
        return None;
    }
    Some((p, target))
}

/// A parameter's prior: `prior` (uniform by default) on `[lo, hi]` (the
/// parameter's range by default, within its domain), with `mean` and `sd`
/// for a normal.
fn read_prior(
    r: &mut Reader<'_>,
    t: &toml::Table,
    here: &[Seg],
    p: &str,
    target: Target,
) -> Option<Prior> {
    let domain = target.domain();
    let (range_lo, range_hi) = target.range();
    let lo = r.number(t, here, "lo").unwrap_or(range_lo);
    let hi = r.number(t, here, "hi").unwrap_or(range_hi);
    let mut bounds_ok = true;
    for (k, x) in [("lo", lo), ("hi", hi)] {
        if !domain.contains(x) {
            r.fail(
                SpecProblem::OutOfRange,
                &at(here, key(k)),
                x.to_string(),
                domain.describe(),
                Some(format!("the domain of {p}")),
            );
            bounds_ok = false;
        }
    }
    if !bounds_ok {
        return None;
    }
    let kind = r
        .string(t, here, "prior")
        .unwrap_or_else(|| "uniform".into());
    let prior = match kind.as_str() {
        "uniform" => Prior::uniform(lo, hi),
        "log_uniform" => Prior::log_uniform(lo, hi),
        "normal" => {
            let mean = r.number(t, here, "mean");
            let sd = r.number(t, here, "sd");
            let (Some(m), Some(s)) = (mean, sd) else {
                r.fail(
                    SpecProblem::Missing,
                    here,
                    "a normal prior without mean or sd",
                    "mean and sd (the normal is truncated to [lo, hi])",
                    None,
                );
                return None;
            };
            Prior::truncated_normal(m, s, lo, hi)
        }
        other => {
            r.fail(
                SpecProblem::Prior,
                &at(here, key("prior")),
                format!("\"{other}\""),
                "uniform, log_uniform or normal",
                did_you_mean(other, &["uniform", "log_uniform", "normal"]),
            );
            return None;
        }
    };
    match prior {
        Ok(prior) => Some(prior),
        Err(e) => {
            // The values as written, then why they make no prior.
            let mut given = format!("prior = \"{kind}\", lo = {lo}, hi = {hi}");
            if kind == "normal"
                && let (Some(m), Some(sd)) = (t.get("mean"), t.get("sd"))
            {
                given.push_str(&format!(", mean = {m}, sd = {sd}"));
            }
            r.fail(
                SpecProblem::Prior,
                here,
                given,
                format!("a proper {kind} prior"),
                Some(e.to_string()),
            );
            None
        }
    }
}

fn read_targets(
    r: &mut Reader<'_>,
    table: &toml::Table,
    root: &[Seg],
    scenario: &Scenario,
    grouped: Option<&Grouped>,
) -> Vec<TargetSpec> {
    let mut out: Vec<TargetSpec> = Vec::new();
    for (here, t) in array_of_tables(
        r,
        (table, root),
        "targets",
        "one or more observed targets, each with a kind and years",
        "a table with kind and years",
    ) {
        r.unknown_keys(t, &here, TARGET_KEYS);
        let kind = read_target_kind(r, t, &here);
        let years = match t.get("years") {
            Some(v) => r.years(v, &at(&here, key("years")), scenario),
            None => {
                r.fail(
                    SpecProblem::Missing,
                    &here,
                    "no `years`",
                    "years = \"2016..2020\"",
                    None,
                );
                None
            }
        };
        let scale = read_scale(r, t, &here);
        let (Some(kind), Some(years), Some(scale)) = (kind, years, scale) else {
            continue;
        };
        if out.iter().any(|o| o.kind == kind && o.years == years) {
            r.fail(
                SpecProblem::Target,
                &here,
                format!(
                    "{} over {}..{} twice",
                    kind.name(),
                    years.first(),
                    years.last()
                ),
                "each target listed once",
                None,
            );
            continue;
        }
        if let Some(grouped) = grouped
            && !window_in_data(r, &here, grouped, kind, years)
        {
            continue;
        }
        out.push(TargetSpec { kind, years, scale });
    }
    out
}

/// A target's `kind`: shares, lumpiness or total.
fn read_target_kind(r: &mut Reader<'_>, t: &toml::Table, here: &[Seg]) -> Option<TargetKind> {
    match r.string(t, here, "kind").as_deref() {
        Some("shares") => Some(TargetKind::Shares),
        Some("lumpiness") => Some(TargetKind::Lumpiness),
        Some("total") => Some(TargetKind::Total),
        Some(other) => {
            r.fail(
                SpecProblem::Target,
                &at(here, key("kind")),
                format!("\"{other}\""),
                "shares, lumpiness or total",
                did_you_mean(other, &["shares", "lumpiness", "total"]),
            );
            None
        }
        None => {
            if !t.contains_key("kind") {
                r.fail(
                    SpecProblem::Missing,
                    here,
                    "no `kind`",
                    "kind = \"shares\", \"lumpiness\" or \"total\"",
                    None,
                );
            }
            None
        }
    }
}

/// A target's `scale`: the median absolute deviation (`"mad"`, the
/// default) or a positive number.
fn read_scale(r: &mut Reader<'_>, t: &toml::Table, here: &[Seg]) -> Option<Scale> {
    match t.get("scale") {
        None => Some(Scale::Mad),
        Some(toml::Value::String(s)) if s == "mad" => Some(Scale::Mad),
        Some(toml::Value::Float(x)) if x.is_finite() && *x > 0.0 => Some(Scale::Fixed(*x)),
        Some(toml::Value::Integer(i)) if *i > 0 => Some(Scale::Fixed(*i as f64)),
        Some(v) => {
            r.fail(
                SpecProblem::OutOfRange,
                &at(here, key("scale")),
                found(v),
                "\"mad\" or a positive number",
                None,
            );
            None
        }
    }
}

/// Whether a target's window lies within the data's years and has the
/// deliveries its kind needs; says why not.
fn window_in_data(
    r: &mut Reader<'_>,
    here: &[Seg],
    grouped: &Grouped,
    kind: TargetKind,
    years: Years,
) -> bool {
    // A year outside the record is unknown, not a year without
    // deliveries: a window reaching past it would fit the model to
    // zeros nobody observed.
    let inside = grouped
        .covered()
        .is_some_and(|(first, last)| first <= years.first() && years.last() <= last);
    if !inside {
        r.fail(
            SpecProblem::Data,
            &at(here, key("years")),
            format!("{}..{}", years.first(), years.last()),
            match grouped.covered() {
                Some((first, last)) => {
                    format!("a window within the data's years, {first}..{last}")
                }
                None => "data with deliveries".into(),
            },
            None,
        );
        return false;
    }
    let result = match kind {
        TargetKind::Shares | TargetKind::Total => grouped.shares(years).map(|_| ()),
        TargetKind::Lumpiness => grouped.lumpiness(years).map(|_| ()),
    };
    if let Err(e) = result {
        r.fail(
            SpecProblem::Data,
            &at(here, key("years")),
            e.to_string(),
            "a window with deliveries in the data",
            None,
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests;
