//! The scenario layer: TOML files in, validated [`Scenario`]s out.
//!
//! The only place that knows about TOML and serde. A file is parsed into the
//! plain structs of [`raw`] (the one serialisable form of a scenario), with any
//! `--set` overrides edited into the text first ([`overrides`]), then validated
//! into [`crate::model`] types ([`validate`]). Every problem becomes a
//! [`Diagnostic`] naming the file, line, column and field path; the library
//! returns them, it never prints.

pub mod error;
pub mod locate;
pub mod overrides;
pub mod profiles;
pub mod raw;
pub mod validate;

use std::path::Path;

use sha2::{Digest, Sha256};

pub use error::{Diagnostic, ScenarioError};
use locate::Locator;
pub use overrides::Override;
pub use raw::RawScenario;

use crate::model::{ModelVersion, Scenario};

/// The baseline scenario, compiled in so that `armsim run` works anywhere.
pub const BASELINE_TOML: &str = include_str!("../../scenarios/myanmar_2021.toml");
/// The baseline's identifier (its file stem).
pub const BASELINE_ID: &str = "myanmar_2021";

/// The scenarios shipped in `scenarios/`, compiled in (identifier, text), the
/// baseline first: what the web page offers and what tests run.
pub const SHIPPED: &[(&str, &str)] = &[
    (BASELINE_ID, BASELINE_TOML),
    (
        "myanmar_2021_no_coup",
        include_str!("../../scenarios/myanmar_2021_no_coup.toml"),
    ),
    (
        "myanmar_2021_un_embargo",
        include_str!("../../scenarios/myanmar_2021_un_embargo.toml"),
    ),
    (
        "myanmar_2021_article_shares",
        include_str!("../../scenarios/myanmar_2021_article_shares.toml"),
    ),
    (
        "myanmar_2021_v2",
        include_str!("../../scenarios/myanmar_2021_v2.toml"),
    ),
    (
        "myanmar_2021_v1",
        include_str!("../../scenarios/myanmar_2021_v1.toml"),
    ),
    (
        "myanmar_history",
        include_str!("../../scenarios/myanmar_history.toml"),
    ),
    (
        "thailand_2014",
        include_str!("../../scenarios/thailand_2014.toml"),
    ),
    (
        "thailand_history",
        include_str!("../../scenarios/thailand_history.toml"),
    ),
];

/// A shipped scenario by its identifier, with `overrides` applied; `None`
/// if no shipped scenario has that identifier.
///
/// # Errors
/// As [`load_file`], for the overrides.
pub fn load_shipped(id: &str, overrides: &[String]) -> Option<Result<Loaded, ScenarioError>> {
    let (id, text) = SHIPPED.iter().find(|(name, _)| *name == id)?;
    Some(load_str(
        text,
        id,
        &format!("scenarios/{id}.toml (built in)"),
        overrides,
    ))
}

/// A loaded scenario with what is needed to cite and replay it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated scenario.
    pub scenario: Scenario,
    /// The scenario as resolved (overrides applied), in canonical form
    /// (every value explicit; see [`validate::canonical`]).
    pub raw: RawScenario,
    /// The resolved scenario as canonical TOML: comments and layout dropped, so
    /// that its hash identifies the model, not the formatting.
    pub resolved_toml: String,
    /// SHA-256 of `resolved_toml`, hex.
    pub hash: String,
    /// Where it came from (a path, or the built-in baseline).
    pub origin: String,
    /// The `--set` overrides applied.
    pub overrides: Vec<Override>,
    /// Whether the file had no `[run] model` key (and so runs v1, as files
    /// written before v2 did); the CLI says so.
    pub model_defaulted: bool,
    /// The scenario's text as read, with the overrides edited in: where
    /// diagnostics about its experiment sections point.
    pub text: String,
    /// The `[experiment]`, `[sensitivity]` and `[calibration]` sections as
    /// written (they are read by the modules that run them).
    pub sections: Sections,
    /// Events left out because `--set run.model=...` replays the file under
    /// a model that does not read their parameter (a v3 hold replayed under
    /// v2), as `events.INDEX: QUARTER ENTITY.PARAM (NOTE)`; the CLI says so.
    pub left_out_events: Vec<String>,
}

/// The sections of a scenario file that configure experiments rather than
/// the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sections {
    /// `[experiment]`.
    pub experiment: Option<toml::Table>,
    /// `[sensitivity]`.
    pub sensitivity: Option<toml::Table>,
    /// `[calibration]`.
    pub calibration: Option<toml::Table>,
    /// `[case]`.
    pub case: Option<toml::Table>,
}

impl Loaded {
    /// A diagnostic about the field at `path` of this scenario's text (for
    /// the experiment sections, which other modules validate).
    pub fn diagnostic(
        &self,
        path: &[locate::Seg],
        found: impl Into<String>,
        expected: impl Into<String>,
        note: Option<String>,
    ) -> Diagnostic {
        Locator::new(&self.text).diagnostic(&self.origin, path, found, expected, note)
    }
}

impl Loaded {
    /// The overrides that change the model (every `--set` but the run
    /// settings `run.runs` and `run.seed`).
    pub fn model_overrides(&self) -> impl Iterator<Item = &Override> {
        self.overrides.iter().filter(|o| !o.is_run_setting())
    }

    /// The study's display name, for headlines, plots and manifests: the
    /// scenario's name, and, when overrides change the model, what they
    /// change. Such a study is no longer its scenario's baseline, so a name
    /// ending in "(baseline)" loses that word:
    /// `Myanmar after the 2021 coup, with suppliers.Russia.support=0.2`.
    pub fn title(&self) -> String {
        let renamed = self.overrides.iter().any(|o| o.field == "run.name");
        let changes: Vec<&str> = self
            .model_overrides()
            .filter(|o| o.field != "run.name")
            .map(|o| o.label.as_str())
            .collect();
        if changes.is_empty() {
            return self.scenario.name().to_string();
        }
        let name = self.scenario.name();
        let name = if renamed {
            name
        } else {
            name.strip_suffix("(baseline)")
                .map_or(name, |n| n.trim_end().trim_end_matches([',', ';', ':']))
        };
        format!("{name}, with {}", changes.join(", "))
    }

    /// A short, stable, readable name for the study's outputs: the scenario's
    /// id, then its model overrides (`myanmar_2021+suppliers.Russia.support=0.2`);
    /// run settings (`--runs`, `--seed`) do not change it. Characters unsafe
    /// in file names become `_`; a long list of overrides is shortened and
    /// ends with a hash of the whole list (`~1a2b3c4d`), so different
    /// overrides never share a name. It is a label: make it a path with
    /// [`crate::files::path_component`].
    pub fn slug(&self) -> String {
        let changes: Vec<&str> = self.model_overrides().map(|o| o.label.as_str()).collect();
        if changes.is_empty() {
            return self.scenario.id().to_string();
        }
        let joined = changes.join("+");
        let clean: String = joined
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._+=@-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        const LONGEST: usize = 80;
        if clean.len() <= LONGEST && clean == joined {
            return format!("{}+{clean}", self.scenario.id());
        }
        let hash = hex(&Sha256::digest(joined.as_bytes()));
        let head: String = clean.chars().take(LONGEST - 10).collect();
        format!("{}+{head}~{}", self.scenario.id(), &hash[..8])
    }
}

/// Loads and validates the scenario file at `path`, applying `overrides`
/// (`PATH=VALUE` strings). Its identifier is the file's stem.
///
/// # Errors
/// [`ScenarioError::Io`] if the file cannot be read, [`ScenarioError::Override`]
/// for an override naming nothing, [`ScenarioError::Invalid`] listing every
/// problem in the (overridden) file.
pub fn load_file(path: &Path, overrides: &[String]) -> Result<Loaded, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let id = path
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    let dir = path.parent().map(|d| {
        if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        }
    });
    load(&text, &id, &path.display().to_string(), overrides, dir)
}

/// The built-in baseline with `overrides` applied.
///
/// # Errors
/// As [`load_file`], for the overrides.
pub fn load_baseline(overrides: &[String]) -> Result<Loaded, ScenarioError> {
    load_str(
        BASELINE_TOML,
        BASELINE_ID,
        "scenarios/myanmar_2021.toml (built in)",
        overrides,
    )
}

/// Loads a scenario from `text`; `id` names its outputs and `origin` names the
/// text in diagnostics.
///
/// # Errors
/// As [`load_file`].
pub fn load_str(
    text: &str,
    id: &str,
    origin: &str,
    overrides: &[String],
) -> Result<Loaded, ScenarioError> {
    load(text, id, origin, overrides, None)
}

/// [`load_str`] for a text read from a file in `dir`, where its profiles
/// ([`profiles`]) are looked up.
fn load(
    text: &str,
    id: &str,
    origin: &str,
    overrides: &[String],
    dir: Option<&Path>,
) -> Result<Loaded, ScenarioError> {
    let file_model = written_model(text);
    let (text, applied) = overrides::apply(text, overrides)?;
    let locator = Locator::new(&text);
    let annotate = |mut diagnostics: Vec<Diagnostic>| {
        for d in &mut diagnostics {
            if let Some(o) = applied.iter().find(|o| within(&d.field, &o.field)) {
                d.note = Some(match d.note.take() {
                    Some(n) => format!("{n}; value from --set {}", o.arg),
                    None => format!("value from --set {}", o.arg),
                });
            }
        }
        ScenarioError::Invalid(diagnostics)
    };
    let mut raw: RawScenario =
        toml::from_str(&text).map_err(|e| annotate(vec![toml_diagnostic(&e, origin, &locator)]))?;
    let left_out_events = leave_out_events_of_other_models(&mut raw, file_model);
    let set_on_left_out = sets_on_left_out_events(&raw, &applied, &locator, origin);
    if !set_on_left_out.is_empty() {
        return Err(ScenarioError::Invalid(set_on_left_out));
    }
    let fill = profiles::fill(&mut raw, dir, origin, &locator).map_err(annotate)?;
    let scenario = validate::validate(&raw, id, origin, &locator).map_err(|mut d| {
        d.iter_mut().for_each(|d| fill.relocate(d));
        annotate(d)
    })?;
    let model_defaulted = raw.run.model.is_none();
    let sections = Sections {
        experiment: raw.experiment.clone(),
        sensitivity: raw.sensitivity.clone(),
        calibration: raw.calibration.clone(),
        case: raw.case.clone(),
    };
    let raw = validate::canonical(&raw, &scenario);
    let resolved_toml = toml::to_string(&raw).expect("a parsed scenario serialises");
    let hash = hex(&Sha256::digest(resolved_toml.as_bytes()));
    Ok(Loaded {
        scenario,
        raw,
        resolved_toml,
        hash,
        origin: origin.to_string(),
        overrides: applied,
        model_defaulted,
        text,
        sections,
        left_out_events,
    })
}

/// A `--set events.N...` on an event the replay leaves out would change
/// nothing: one diagnostic for each, rather than accept it.
fn sets_on_left_out_events(
    raw: &RawScenario,
    applied: &[Override],
    locator: &Locator<'_>,
    origin: &str,
) -> Vec<Diagnostic> {
    raw.events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.left_out)
        .filter_map(|(i, _)| {
            let field = format!("events[{i}]");
            let o = applied.iter().find(|o| within(&o.field, &field))?;
            let path = [locate::Seg::Key("events".into()), locate::Seg::Index(i)];
            let (line, column) = locator.position(&path).unzip();
            Some(Diagnostic {
                file: origin.to_string(),
                line,
                column,
                field,
                found: format!(
                    "--set {} on an event model {} does not read",
                    o.arg,
                    raw.run.model.as_deref().unwrap_or("v1")
                ),
                expected: "a change to an event the run keeps".into(),
                note: None,
            })
        })
        .collect()
}

/// The model a scenario's text names in `[run] model` (v1 without the key,
/// as validation reads it); `None` where the text does not parse or names
/// no known model (validation reports it).
fn written_model(text: &str) -> Option<ModelVersion> {
    let table: toml::Table = text.parse().ok()?;
    match table.get("run").and_then(|run| run.get("model")) {
        None => Some(ModelVersion::V1),
        Some(model) => model.as_str().and_then(ModelVersion::from_name),
    }
}

/// Where `--set run.model=...` replays a file under another model than the
/// one it names (`file_model`), marks the events the file's model reads and
/// the replaying model does not (a v3 hold replayed under v2), so
/// validation skips them; returns their descriptions. Events on an unknown
/// entity or parameter, or that the file's own model cannot read either,
/// are left for validation to report.
fn leave_out_events_of_other_models(
    raw: &mut RawScenario,
    file_model: Option<ModelVersion>,
) -> Vec<String> {
    let model = raw.run.model.as_deref().and_then(ModelVersion::from_name);
    let (Some(model), Some(file_model)) = (model, file_model) else {
        return Vec::new();
    };
    if model == file_model {
        return Vec::new();
    }
    let suppliers: Vec<Option<&str>> = raw
        .suppliers
        .iter()
        .map(|t| t.get("name").and_then(toml::Value::as_str))
        .collect();
    let mut left_out = Vec::new();
    for (i, event) in raw.events.iter_mut().enumerate() {
        let section = match event.entity.as_str() {
            "world" => "world",
            "buyer" => "buyer",
            name if suppliers.contains(&Some(name)) => "suppliers",
            _ => continue,
        };
        if profiles::other_model(section, &event.param, model)
            && !profiles::other_model(section, &event.param, file_model)
        {
            event.left_out = true;
            let quarter = match &event.quarter {
                raw::QuarterRef::Label(l) => l.clone(),
                raw::QuarterRef::Index(q) => format!("quarter {q}"),
            };
            let note = event
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            left_out.push(format!(
                "events.{i}: {quarter} {}.{}{note}",
                event.entity, event.param
            ));
        }
    }
    left_out
}

/// Whether field path `field` is `prefix` or inside it (`a.b[0]` is inside
/// `a.b`; `a.bc` is not).
fn within(field: &str, prefix: &str) -> bool {
    field
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Turns a TOML parse or type error into a diagnostic: the parser knows where,
/// the locator says which field, and serde's message is split into what was
/// found and what was expected.
fn toml_diagnostic(e: &toml::de::Error, origin: &str, locator: &Locator<'_>) -> Diagnostic {
    let span = e.span();
    let (line, column) = span.as_ref().map(|s| locator.line_col(s.start)).unzip();
    let field = span
        .map(|s| locate::render(&locator.path_at(s.start)))
        .unwrap_or_default();
    let message = e.message().trim().trim_end_matches('.');
    let plain = |s: &str| {
        s.replace("u32", "a whole number 0 or greater")
            .replace("u64", "a whole number 0 or greater")
            .replace("f64", "a number")
    };
    // Runs and quarters are counted from 1.
    let plain = |s: &str| {
        if matches!(field.as_str(), "run.runs" | "run.quarters") {
            plain(s).replace("a whole number 0 or greater", "a whole number 1 or greater")
        } else {
            plain(s)
        }
    };
    let (found, expected) = if let Some(missing) = message.strip_prefix("missing field ") {
        ("nothing".to_string(), format!("field {missing}"))
    } else if let Some((found, expected)) = message.split_once(", expected ") {
        (plain(found), plain(expected))
    } else {
        (message.to_string(), "valid TOML".to_string())
    };
    Diagnostic {
        file: origin.to_string(),
        line,
        column,
        field,
        found,
        expected,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_under_an_older_model_leaves_out_the_events_it_cannot_read() {
        // Pakistan 1990's case writes v3's holds (events 1 and 3).
        let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cases");
        let file = cases.join("pakistan_1990.toml");
        let v3 = load_file(&file, &[]).unwrap();
        assert!(v3.left_out_events.is_empty());
        let events = v3.scenario.events().len();
        // Replayed under v2, the holds are left out and named, and the other
        // events keep their file indices.
        let v2 = load_file(&file, &["run.model=v2".into()]).unwrap();
        assert_eq!(v2.scenario.events().len(), events - 2);
        assert_eq!(v2.left_out_events.len(), 2, "{:?}", v2.left_out_events);
        assert!(
            v2.left_out_events[0].starts_with("events.1: 1990Q4 United States.suspension"),
            "{:?}",
            v2.left_out_events
        );
        assert!(!v2.resolved_toml.contains("suspension"));
        let mut indices: Vec<usize> = v2.scenario.events().iter().map(|e| e.index).collect();
        indices.sort();
        assert_eq!(indices, [0, 2]);
        // A file that names the older model itself gets the error, as ever,
        // with or without an override naming that same model.
        let text = std::fs::read_to_string(&file).unwrap();
        let written_v2 = text.replace("model = \"v3\"", "model = \"v2\"");
        for overrides in [vec![], vec!["run.model=v2".to_string()]] {
            let err = load(&written_v2, "p", "p.toml", &overrides, Some(&cases)).unwrap_err();
            assert!(err.to_string().contains("a parameter of model v3"), "{err}");
        }
        // A misspelt supplier is reported, not left out.
        let misspelt = text.replace(
            "entity = \"United States\"\nparam = \"suspension\"",
            "entity = \"United Sates\"\nparam = \"suspension\"",
        );
        assert_ne!(misspelt, text);
        let err = load(
            &misspelt,
            "p",
            "p.toml",
            &["run.model=v2".into()],
            Some(&cases),
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"United Sates\""), "{err}");
        // Changing an event the replay leaves out is refused.
        let err =
            load_file(&file, &["run.model=v2".into(), "events.1.set=0.5".into()]).unwrap_err();
        assert!(
            err.to_string().contains("events[1]") && err.to_string().contains("does not read"),
            "{err}"
        );
    }

    #[test]
    fn every_shipped_scenario_loads_and_is_the_file_in_scenarios() {
        for (id, text) in SHIPPED {
            let on_disk = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("scenarios/{id}.toml")),
            )
            .unwrap();
            assert_eq!(&on_disk, text, "{id}");
            load_shipped(id, &[]).unwrap().unwrap();
        }
        let files =
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "toml")
                })
                .count();
        assert_eq!(files, SHIPPED.len(), "every file in scenarios/ is shipped");
    }

    #[test]
    fn baseline_loads() {
        let loaded = load_baseline(&[]).unwrap();
        assert_eq!(loaded.scenario.suppliers().len(), 4);
        assert_eq!(loaded.scenario.id(), BASELINE_ID);
        assert_eq!(loaded.hash.len(), 64);
    }

    #[test]
    fn a_bad_override_is_blamed_on_its_own_argument() {
        let overrides = [
            "world.pressure=0.5".to_string(),
            "world.pressure_decay=2".to_string(),
        ];
        let err = load_baseline(&overrides).unwrap_err();
        let d = &err.diagnostics()[0];
        assert_eq!(d.field, "world.pressure_decay");
        assert_eq!(
            d.note.as_deref(),
            Some("value from --set world.pressure_decay=2")
        );
    }

    #[test]
    fn overrides_name_the_study() {
        let base = load_baseline(&["run.runs=10".into(), "run.seed=3".into()]).unwrap();
        assert_eq!(base.title(), base.scenario.name());
        assert_eq!(base.slug(), "myanmar_2021");
        // By index or by name, `.5` or `0.5`: one label.
        let a = load_baseline(&["suppliers.0.support=.5".into()]).unwrap();
        let b = load_baseline(&["suppliers.Russia.support=0.5".into()]).unwrap();
        assert_eq!(a.overrides[0].label, "suppliers.Russia.support=0.5");
        assert_eq!(a.slug(), b.slug());
        assert_eq!(a.slug(), "myanmar_2021+suppliers.Russia.support=0.5");
        assert_eq!(
            a.title(),
            "Myanmar after the 2021 coup, with suppliers.Russia.support=0.5"
        );
        let two = load_baseline(&[
            "suppliers.Russia.support=0.2".into(),
            "buyer.budget=80".into(),
            "run.runs=10".into(),
        ])
        .unwrap();
        assert_eq!(
            two.slug(),
            "myanmar_2021+suppliers.Russia.support=0.2+buyer.budget=80"
        );
        // Strings are sanitised and long lists shortened with a hash.
        let named = load_baseline(&["run.name=\"What if / Russia\"".into()]).unwrap();
        assert_eq!(named.title(), "What if / Russia");
        assert!(
            named
                .slug()
                .starts_with("myanmar_2021+run.name=_What_if___Russia_~")
        );
        let many: Vec<String> = ["support", "price", "quality"]
            .iter()
            .flat_map(|k| ["Russia", "China", "India"].map(|s| format!("suppliers.{s}.{k}=0.1")))
            .collect();
        let long = load_baseline(&many).unwrap();
        let mut fewer = many.clone();
        fewer.pop();
        let shorter = load_baseline(&fewer).unwrap();
        assert!(long.slug().len() <= 100, "{}", long.slug());
        assert_ne!(long.slug(), shorter.slug());
        assert_eq!(long.slug(), load_baseline(&many).unwrap().slug(), "stable");
    }

    #[test]
    fn resolved_toml_round_trips() {
        let loaded = load_baseline(&["suppliers.Russia.support=0.2".into()]).unwrap();
        let again = load_str(&loaded.resolved_toml, "x", "resolved", &[]).unwrap();
        assert_eq!(again.scenario, {
            let mut s = loaded.scenario.clone();
            s.id = "x".into();
            s
        });
        assert_eq!(again.hash, loaded.hash);
    }

    #[test]
    fn equivalent_files_hash_alike() {
        let text = include_str!("../../tests/fixtures/minimal.toml");
        let a = load_str(text, "a", "a", &[]).unwrap();
        let spelled = text
            .replace("budget = 10\n", "budget = 10.0\n")
            .replace("veto = true", "veto = 1")
            .replace("quarter = \"2020Q3\"", "quarter = 2");
        assert_ne!(spelled, text);
        let b = load_str(&spelled, "a", "a", &["world.embargo=false".into()]).unwrap();
        assert_eq!(
            a.hash, b.hash,
            "{}\n---\n{}",
            a.resolved_toml, b.resolved_toml
        );
    }
}
