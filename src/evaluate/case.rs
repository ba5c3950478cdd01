//! A case of the library: a scenario that starts before a shock, and the
//! SIPRI record that says what happened after it.
//!
//! A case scenario carries a `[case]` section besides the model:
//!
//! ```toml
//! [case]
//! shock = "1990Q4"                    # the quarter of the shock
//! kind = "sanctions"                  # coup, embargo, sanctions, patron switch
//! summary = "what happened, in a line"
//! data = "../../data/sipri_imports_cases.csv"   # relative to the scenario file
//! recipient = "Pakistan"
//! others = "Others"                   # the group of every supplier not listed
//! observed_until = 2021               # optional: the record's last year
//!                                     # (default: the data file's last year)
//! [case.groups]
//! "United States" = ["United States"]
//! China = ["China"]
//! ```
//!
//! Its suppliers are the groups, with the catch-all last. [`Case`]
//! reads the section, checks it against the scenario, and groups the record
//! as the scenario's suppliers; [`Window`]s are the spans of years a
//! forecast is scored on: the five years after the shock year and the five
//! from its third year (SIPRI's habit of five-year windows), where the record
//! reaches, or the shock year alone where nothing later is recorded yet
//! (Myanmar's 2021).

use std::path::{Path, PathBuf};

use crate::data::{DataError, Grouped, Grouping, Imports, Years};
use crate::model::Quarter;
use crate::scenario::locate::Seg;
use crate::scenario::{Diagnostic, Loaded, ScenarioError, load_file};

/// Why a case could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// The scenario is not valid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario has no `[case]` section, or it is wrong; every problem
    /// is listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
    /// The record could not be read or grouped.
    #[error("{path}: {source}", path = .scenario.display())]
    Data {
        /// The case's scenario file.
        scenario: PathBuf,
        /// Why.
        source: DataError,
    },
}

/// A forecast window: whole years, scored as each supplier group's share of
/// the deliveries in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Which window, as scores name it.
    pub kind: WindowKind,
    /// Its years.
    pub years: Years,
}

/// The windows of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WindowKind {
    /// The shock year itself: only where no later year is recorded.
    ShockYear,
    /// The shock year + 1 to + 5.
    Early,
    /// The shock year + 3 to + 7.
    Late,
}

impl WindowKind {
    /// The name scores and tables use: `+0`, `+1..+5`, `+3..+7`.
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::ShockYear => "+0",
            WindowKind::Early => "+1..+5",
            WindowKind::Late => "+3..+7",
        }
    }

    /// Its first and last year after the shock year.
    pub fn offsets(self) -> (i32, i32) {
        match self {
            WindowKind::ShockYear => (0, 0),
            WindowKind::Early => (1, 5),
            WindowKind::Late => (3, 7),
        }
    }
}

/// One case: its scenario, its shock, and its record grouped as the
/// scenario's suppliers.
#[derive(Debug, Clone)]
pub struct Case {
    /// The scenario (its id is the case's).
    pub loaded: Loaded,
    /// The scenario file.
    pub path: PathBuf,
    /// The quarter of the shock.
    pub shock: Quarter,
    /// What kind of shock.
    pub kind: String,
    /// What happened, in a line.
    pub summary: String,
    /// SIPRI's name of the buyer.
    pub recipient: String,
    /// The data file.
    pub data: PathBuf,
    /// The record's last year.
    pub observed_until: i32,
    /// The record, grouped as the scenario's suppliers (same order).
    pub record: Grouped,
}

impl Case {
    /// Reads the case scenario at `path` and its record.
    ///
    /// # Errors
    /// [`CaseError`]: the scenario invalid, its `[case]` section missing or
    /// wrong (located diagnostics), or its data unreadable.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        Case::load_with(path, &[])
    }

    /// [`Case::load`] with `--set` style overrides (`run.model=v3`, say).
    ///
    /// # Errors
    /// As [`Case::load`].
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Case, CaseError> {
        let loaded = load_file(path, overrides)?;
        Case::from_loaded(loaded, path)
    }

    /// A case from a scenario already loaded from `path` (overrides may
    /// have been applied).
    ///
    /// # Errors
    /// As [`Case::load`].
    pub fn from_loaded(loaded: Loaded, path: &Path) -> Result<Case, CaseError> {
        let section = Section::read(&loaded)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let data = dir.join(&section.data);
        let data_error = |source| CaseError::Data {
            scenario: path.to_path_buf(),
            source,
        };
        let imports = Imports::load(&data, Some(&section.recipient)).map_err(data_error)?;
        let grouping = Grouping::new(section.groups.clone(), Some(section.others.as_str()))
            .map_err(data_error)?;
        let record = imports.group(&grouping);
        let observed_until = match section.observed_until {
            Some(y) => y,
            None => imports
                .file_year_range()
                .map_or(section.shock.year, |(_, last)| last),
        };
        Ok(Case {
            path: path.to_path_buf(),
            shock: section.shock,
            kind: section.kind,
            summary: section.summary,
            recipient: section.recipient,
            data,
            observed_until,
            record,
            loaded,
        })
    }

    /// The case's identifier (its file stem).
    pub fn id(&self) -> &str {
        self.loaded.scenario.id()
    }

    /// The shock year.
    pub fn shock_year(&self) -> i32 {
        self.shock.year
    }

    /// The shock's quarter as a 0-based index from the scenario's start.
    pub fn shock_index(&self) -> u32 {
        self.loaded
            .scenario
            .start()
            .quarters_until(self.shock)
            .max(0) as u32
    }

    /// The scenario as it could be written at the shock: its timeline
    /// without the events after the shock's quarter (the lifting of a
    /// sanction, a later war), for an ex-ante forecast.
    pub fn ex_ante(&self) -> crate::model::Scenario {
        self.loaded.scenario.known_at(self.shock_index())
    }

    /// Supplier groups, in the scenario's order.
    pub fn groups(&self) -> &[String] {
        self.record.names()
    }

    /// The five years before the shock year, whose shares persistence
    /// carries forward.
    pub fn before(&self) -> Years {
        let y = self.shock_year();
        Years::new(y - 5, y - 1).expect("five years")
    }

    /// The last year the scenario simulates whole (its fourth quarter
    /// included).
    pub fn last_simulated_year(&self) -> i32 {
        let s = &self.loaded.scenario;
        let last = s.label(s.quarters() - 1);
        if last.q == 4 {
            last.year
        } else {
            last.year - 1
        }
    }

    /// The windows this case is scored on: `+1..+5` and `+3..+7` where the
    /// record and the scenario's horizon both reach their last year; the
    /// shock year alone if neither does.
    pub fn windows(&self) -> Vec<Window> {
        let s = &self.loaded.scenario;
        let simulated_until = self.last_simulated_year();
        let window = |kind: WindowKind| {
            let (a, b) = kind.offsets();
            let years = Years::new(self.shock_year() + a, self.shock_year() + b).ok()?;
            (years.last() <= self.observed_until.min(simulated_until)
                && years.first() >= s.start().year)
                .then_some(Window { kind, years })
        };
        let standard: Vec<Window> = [WindowKind::Early, WindowKind::Late]
            .into_iter()
            .filter_map(window)
            .collect();
        if standard.is_empty() {
            window(WindowKind::ShockYear).into_iter().collect()
        } else {
            standard
        }
    }
}

/// The `[case]` section, read.
struct Section {
    shock: Quarter,
    kind: String,
    summary: String,
    data: String,
    recipient: String,
    others: String,
    observed_until: Option<i32>,
    groups: Vec<(String, Vec<String>)>,
}

/// The scenario's suppliers must be the groups (TOML tables have no order:
/// the scenario's order is the groups'), then `others`; a diagnostic if
/// they are not.
fn check_supplier_order(
    loaded: &Loaded,
    names: &[&str],
    groups: &[(String, Vec<String>)],
    others: &str,
) -> Option<Diagnostic> {
    let mut listed: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    listed.sort_unstable();
    let mut named: Vec<&str> = names[..names.len().saturating_sub(1)].to_vec();
    named.sort_unstable();
    (named != listed || names.last() != Some(&others)).then(|| {
        loaded.diagnostic(
            &[Seg::Key("suppliers".into())],
            format!("suppliers {}", names.join(", ")),
            format!(
                "one supplier per group of [case.groups] ({}), then `others` ({others}) last",
                listed.join(", ")
            ),
            None,
        )
    })
}

impl Section {
    fn read(loaded: &Loaded) -> Result<Section, CaseError> {
        let mut problems = Vec::new();
        let at = |k: &str| vec![Seg::Key("case".into()), Seg::Key(k.into())];
        let Some(table) = &loaded.sections.case else {
            return Err(CaseError::Invalid(vec![loaded.diagnostic(
                &[],
                "no [case] section",
                "a case scenario: [case] with shock, data, recipient, others and groups",
                None,
            )]));
        };
        let text = |k: &str, problems: &mut Vec<Diagnostic>| match table.get(k) {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(v) => {
                problems.push(loaded.diagnostic(&at(k), v.to_string(), "a non-empty string", None));
                String::new()
            }
            None => {
                problems.push(loaded.diagnostic(
                    &[Seg::Key("case".into())],
                    format!("no `{k}`"),
                    format!("`{k}`, a string"),
                    None,
                ));
                String::new()
            }
        };
        let shock_text = text("shock", &mut problems);
        let kind = text("kind", &mut problems);
        let summary = text("summary", &mut problems);
        let data = text("data", &mut problems);
        let recipient = text("recipient", &mut problems);
        let others = text("others", &mut problems);
        let scenario = &loaded.scenario;
        let shock = read_shock(loaded, &shock_text, &mut problems);
        let observed_until = match table.get("observed_until") {
            None => None,
            Some(toml::Value::Integer(y)) if (1900..=2200).contains(y) => Some(*y as i32),
            Some(v) => {
                problems.push(loaded.diagnostic(
                    &at("observed_until"),
                    v.to_string(),
                    "a year",
                    None,
                ));
                None
            }
        };
        let mut groups = read_groups(loaded, table, &mut problems);
        let names: Vec<&str> = scenario.suppliers().iter().map(|s| s.name()).collect();
        if problems.is_empty() {
            problems.extend(check_supplier_order(loaded, &names, &groups, &others));
        }
        groups.sort_by_key(|(n, _)| names.iter().position(|m| m == n));
        if !problems.is_empty() {
            return Err(CaseError::Invalid(problems));
        }
        Ok(Section {
            shock: shock.expect("checked above"),
            kind,
            summary,
            data,
            recipient,
            others,
            observed_until,
            groups,
        })
    }
}

/// The quarter of a case's `shock` (as written, `text`): within the
/// scenario's first year, from its start. A problem is added where it is
/// not (an empty text was reported already).
fn read_shock(loaded: &Loaded, text: &str, problems: &mut Vec<Diagnostic>) -> Option<Quarter> {
    let at = [Seg::Key("case".into()), Seg::Key("shock".into())];
    let scenario = &loaded.scenario;
    let shock = Quarter::parse(text);
    let start = scenario.start();
    let end = scenario.label(scenario.quarters() - 1);
    match shock {
        None if !text.is_empty() => problems.push(loaded.diagnostic(
            &at,
            format!("{text:?}"),
            "a quarter such as \"1990Q4\"",
            None,
        )),
        Some(q) if q.year != start.year || q < start || q > end => {
            problems.push(loaded.diagnostic(
                &at,
                format!("{text:?}"),
                format!(
                    "a quarter of the scenario's first year, from its start {start} (a case \
                     starts in its shock year, from the record up to the year before)"
                ),
                None,
            ))
        }
        _ => {}
    }
    shock
}

/// `[case.groups]`: each group's name and its SIPRI suppliers (a non-empty
/// list), in the table's order; a problem for each that is not.
fn read_groups(
    loaded: &Loaded,
    table: &toml::Table,
    problems: &mut Vec<Diagnostic>,
) -> Vec<(String, Vec<String>)> {
    let mut groups = Vec::new();
    match table.get("groups") {
        Some(toml::Value::Table(t)) => {
            for (name, members) in t {
                let list: Option<Vec<String>> = members.as_array().and_then(|a| {
                    a.iter()
                        .map(|m| m.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                });
                match list {
                    Some(list) if !list.is_empty() => groups.push((name.clone(), list)),
                    _ => problems.push(loaded.diagnostic(
                        &[
                            Seg::Key("case".into()),
                            Seg::Key("groups".into()),
                            Seg::Key(name.clone()),
                        ],
                        members.to_string(),
                        "a non-empty list of SIPRI supplier names",
                        None,
                    )),
                }
            }
        }
        other => problems.push(loaded.diagnostic(
            &[Seg::Key("case".into())],
            other.map_or("no `groups`".into(), |v| v.to_string()),
            "[case.groups]: each group's name and its SIPRI suppliers",
            None,
        )),
    }
    groups
}
