//! Shared profiles: one table of parameter values that scenarios name
//! instead of repeating.
//!
//! A `[world]`, `[buyer]` or `[[suppliers]]` table that says
//! `profile = "NAME"` takes every key it does not set itself from the file
//! [`PROFILES_FILE`] beside the scenario: its `[world.NAME]`, `[buyer.NAME]`
//! or `[suppliers.NAME]` table. The case library (`scenarios/cases/`) is
//! built this way, so that a supplier's traits are one row shared by every
//! case and never set per case by looking at its outcome.
//!
//! A profiles file may hold values for several model versions (v2's
//! discount adaptation beside v3's sale willingness): a scenario takes only
//! the parameters its own model uses, so one table serves cases run under
//! either.
//!
//! Filling happens on the raw tables, before validation, so a profile's
//! values are checked exactly as if the scenario had written them; a problem
//! with one is reported at its line in the profiles file. The canonical form
//! of a scenario writes every value out, so a resolved scenario (in a state
//! file or a manifest) no longer needs the profiles file.

use std::path::{Path, PathBuf};

use super::error::Diagnostic;
use super::locate::{Locator, Seg, render};
use super::raw::RawScenario;
use super::validate::did_you_mean;
use crate::model::{BuyerParam, ModelVersion, Param, SupplierParam, WorldParam};

/// Whether key `k` of a `section` profile is a parameter that `model` does
/// not use (and so is not filled); keys that name no parameter are filled,
/// for validation to report.
pub(super) fn other_model(section: &str, k: &str, model: ModelVersion) -> bool {
    let models = match section {
        "world" => WorldParam::from_name(k).map(Param::models),
        "buyer" => BuyerParam::from_name(k).map(Param::models),
        _ => SupplierParam::from_name(k).map(Param::models),
    };
    models.is_some_and(|m| !m.includes(model))
}

/// The profiles file's name, looked up in the scenario file's directory.
pub const PROFILES_FILE: &str = "profiles.toml";
/// The key of a table that names its profile.
pub const PROFILE_KEY: &str = "profile";

/// The three kinds of table a profile can fill, as the profiles file names
/// its sections.
const SECTIONS: [&str; 3] = ["world", "buyer", "suppliers"];

/// A key a profile filled in: where it now is in the scenario, and where its
/// value came from.
#[derive(Debug, Clone)]
pub(crate) struct Filled {
    /// The key's place in the scenario, as diagnostics render it
    /// (`suppliers[0].price`).
    pub scenario_field: String,
    /// Its place in the profiles file (`suppliers`, `China`, `price`).
    pub profile_path: Vec<Seg>,
}

/// What [`fill`] did: the keys it filled, and the profiles file's text (for
/// locating them), if one was read.
#[derive(Debug, Default)]
pub(crate) struct Fill {
    pub filled: Vec<Filled>,
    pub file: Option<(PathBuf, String)>,
}

impl Fill {
    /// Points a validation diagnostic about a filled key at the profiles
    /// file, where the value is written; leaves others as they are.
    pub fn relocate(&self, d: &mut Diagnostic) {
        let Some((path, text)) = &self.file else {
            return;
        };
        let Some(f) = self.filled.iter().find(|f| f.scenario_field == d.field) else {
            return;
        };
        let (line, column) = Locator::new(text).position(&f.profile_path).unzip();
        let note = format!("the value of {} comes from this profile", d.field);
        d.note = Some(match d.note.take() {
            Some(n) => format!("{n}; {note}"),
            None => note,
        });
        d.file = path.display().to_string();
        d.line = line;
        d.column = column;
        d.field = render(&f.profile_path);
    }
}

/// Fills the keys that `raw`'s profiled tables leave out from the profiles
/// file in `dir` (the scenario file's directory; `None` for a scenario with
/// no file, which can only use profiles if it sets every key itself).
///
/// # Errors
/// Located diagnostics: a profile name that is not a string or not in the
/// profiles file, a profiles file that cannot be read or parsed.
pub(crate) fn fill(
    raw: &mut RawScenario,
    dir: Option<&Path>,
    origin: &str,
    locator: &Locator<'_>,
) -> Result<Fill, Vec<Diagnostic>> {
    let wanted = profiled_tables(raw);
    let model = raw
        .run
        .model
        .as_deref()
        .and_then(ModelVersion::from_name)
        .unwrap_or(ModelVersion::V1);
    let mut out = Fill::default();
    if wanted.is_empty() {
        return Ok(out);
    }
    let fail = |at: &[Seg], found: String, expected: String, note: Option<String>| {
        locator.diagnostic(origin, at, found, expected, note)
    };
    let mut diagnostics = Vec::new();
    let profiles = match dir {
        None => None,
        Some(dir) => Some(read_profiles(dir, &wanted[0].0, &fail)?),
    };
    for (at, section) in &wanted {
        let table = match at.as_slice() {
            [_, Seg::Index(i)] => &mut raw.suppliers[*i],
            _ if *section == "world" => &mut raw.world,
            _ => &mut raw.buyer,
        };
        let mut name_at = at.clone();
        name_at.push(Seg::Key(PROFILE_KEY.into()));
        let name = match table.get(PROFILE_KEY) {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                diagnostics.push(fail(
                    &name_at,
                    other.to_string(),
                    "a profile's name (a string)".into(),
                    None,
                ));
                continue;
            }
            None => continue,
        };
        let Some((path, _, profiles)) = &profiles else {
            // No file to read profiles from: only a table that sets every
            // key itself can name one (a resolved scenario does); what is
            // missing is reported by validation, with this note.
            continue;
        };
        match lookup(profiles, path, section, &name) {
            Ok(values) => {
                let profile = Profile {
                    section,
                    name: &name,
                    values,
                };
                out.filled.extend(profile.fill(table, at, model));
            }
            Err(unlisted) => diagnostics.push(fail(
                &name_at,
                format!("{name:?}"),
                unlisted.expected,
                unlisted.note,
            )),
        }
    }
    if let Some((path, text, table)) = profiles {
        diagnostics.extend(unknown_sections(&path, &text, &table));
        out.file = Some((path, text));
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(diagnostics)
    }
}

/// Why a profile's name is not one of the file's: what was expected, and
/// the nearest name.
struct Unlisted {
    expected: String,
    note: Option<String>,
}

/// The values of profile `name` in `section` of `profiles` (the file at
/// `path`).
fn lookup<'p>(
    profiles: &'p toml::Table,
    path: &Path,
    section: &str,
    name: &str,
) -> Result<&'p toml::Table, Unlisted> {
    let listed = profiles.get(section).and_then(toml::Value::as_table);
    if let Some(toml::Value::Table(values)) = listed.and_then(|l| l.get(name)) {
        return Ok(values);
    }
    let names: Vec<&str> = listed
        .map(|l| l.keys().map(String::as_str).collect())
        .unwrap_or_default();
    Err(Unlisted {
        expected: if names.is_empty() {
            format!("a [{section}.NAME] table in {}", path.display())
        } else {
            format!("a profile of {}: {}", path.display(), names.join(", "))
        },
        note: did_you_mean(name, &names),
    })
}

/// One profile of the profiles file: `[section.name]`'s values.
struct Profile<'p> {
    section: &'p str,
    name: &'p str,
    values: &'p toml::Table,
}

impl Profile<'_> {
    /// Copies this profile's values into `table` (the scenario's table at
    /// `at`), except the keys `table` sets itself and those of the other
    /// model; returns what was filled.
    fn fill(&self, table: &mut toml::Table, at: &[Seg], model: ModelVersion) -> Vec<Filled> {
        let mut filled = Vec::new();
        for (k, v) in self.values {
            if k == PROFILE_KEY || table.contains_key(k) || other_model(self.section, k, model) {
                continue;
            }
            table.insert(k.clone(), v.clone());
            let mut field = at.to_vec();
            field.push(Seg::Key(k.clone()));
            filled.push(Filled {
                scenario_field: render(&field),
                profile_path: vec![
                    Seg::Key(self.section.into()),
                    Seg::Key(self.name.into()),
                    Seg::Key(k.clone()),
                ],
            });
        }
        filled
    }
}

/// The tables of `raw` that name a profile, where they are and in which
/// section of the profiles file their profiles are.
fn profiled_tables(raw: &RawScenario) -> Vec<(Vec<Seg>, &'static str)> {
    let mut wanted: Vec<(Vec<Seg>, &'static str)> = Vec::new();
    if raw.world.contains_key(PROFILE_KEY) {
        wanted.push((vec![Seg::Key("world".into())], "world"));
    }
    if raw.buyer.contains_key(PROFILE_KEY) {
        wanted.push((vec![Seg::Key("buyer".into())], "buyer"));
    }
    for (i, s) in raw.suppliers.iter().enumerate() {
        if s.contains_key(PROFILE_KEY) {
            wanted.push((
                vec![Seg::Key("suppliers".into()), Seg::Index(i)],
                "suppliers",
            ));
        }
    }
    wanted
}

/// A diagnostic at a place in the scenario: where, what was found, what
/// was expected, a note.
type Fail<'a> = dyn Fn(&[Seg], String, String, Option<String>) -> Diagnostic + 'a;

/// The profiles file in `dir`: its path, text and table. A file that
/// cannot be read is reported at the first table naming a profile
/// (`first`, through `fail`); one that is not TOML, where it breaks.
fn read_profiles(
    dir: &Path,
    first: &[Seg],
    fail: &Fail<'_>,
) -> Result<(PathBuf, String, toml::Table), Vec<Diagnostic>> {
    let path = dir.join(PROFILES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let mut at = first.to_vec();
        at.push(Seg::Key(PROFILE_KEY.into()));
        vec![fail(
            &at,
            format!("a profile, but {} cannot be read ({e})", path.display()),
            format!("a file {PROFILES_FILE} beside the scenario"),
            None,
        )]
    })?;
    match toml::from_str::<toml::Table>(&text) {
        Ok(table) => Ok((path, text, table)),
        Err(e) => {
            let locator = Locator::new(&text);
            let (line, column) = e.span().map(|s| locator.line_col(s.start)).unzip();
            Err(vec![Diagnostic {
                file: path.display().to_string(),
                line,
                column,
                field: String::new(),
                found: e.message().to_string(),
                expected: "a TOML file of [world.NAME], [buyer.NAME] and \
                           [suppliers.NAME] tables"
                    .into(),
                note: None,
            }])
        }
    }
}

/// A diagnostic for each top-level key of the profiles file that is not
/// one of its sections.
fn unknown_sections(path: &Path, text: &str, table: &toml::Table) -> Vec<Diagnostic> {
    let locator = Locator::new(text);
    table
        .keys()
        .filter(|k| !SECTIONS.contains(&k.as_str()))
        .map(|k| {
            let at = [Seg::Key(k.clone())];
            let (line, column) = locator.position(&at).unzip();
            Diagnostic {
                file: path.display().to_string(),
                line,
                column,
                field: k.clone(),
                found: format!("a section `{k}`"),
                expected: "[world.NAME], [buyer.NAME] or [suppliers.NAME] tables".into(),
                note: did_you_mean(k, &SECTIONS),
            }
        })
        .collect()
}
