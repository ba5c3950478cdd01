//! What the page asks and what it is told, apart from the live charts: the
//! description of a scenario's parameters (generated from the same metadata
//! as `armsim params`), and the resolution of a request (a scenario, the
//! student's changes, runs and seed) into the baseline and the changed
//! scenario, validated exactly as `--set` is, with the CLI's messages.
//!
//! Nothing here trusts the request: sizes are capped, a change may touch only
//! a parameter or an event's value (never `run.*`, which have their own
//! fields), and every value goes through the scenario layer's validation.

use std::fmt::Write as _;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use armsim::model::{
    BuyerParam, Domain, Event, Op, Param, Scenario, SupplierParam, Target, WorldParam,
};
use armsim::scenario::{self, Loaded, ScenarioError};

/// Largest uploaded scenario, in bytes (the baseline is about 12 KB).
pub const MAX_TOML_BYTES: usize = 1 << 20;
/// Most changes one request may carry.
pub const MAX_CHANGES: usize = 500;
/// Longest horizon the page draws (a century); longer studies belong to `armsim run`.
pub const MAX_PAGE_QUARTERS: u32 = 400;
/// Most suppliers the page draws side by side.
pub const MAX_PAGE_SUPPLIERS: usize = 12;
/// Runs a study has on the page unless the student asks for more (up to
/// `--max-runs`): with common random numbers, 20,000 pairs already pin the
/// change at the horizon to about a point, and the study ends in seconds.
pub const PAGE_DEFAULT_RUNS: u64 = 20_000;

/// The runs the page starts with for a scenario.
fn default_runs(s: &Scenario, max_runs: u64) -> u64 {
    s.runs().min(max_runs).min(PAGE_DEFAULT_RUNS)
}

/// An error for the page: an HTTP status, a sentence, and the diagnostics
/// the CLI would print (one per line, without its `error: ` prefix).
#[derive(Debug)]
pub struct ApiError {
    /// The status (4xx for the request's fault).
    pub status: StatusCode,
    /// What went wrong, in a sentence.
    pub error: String,
    /// Each diagnostic, as `armsim validate` prints it.
    pub details: Vec<String>,
}

impl ApiError {
    /// A 400 Bad Request with a message.
    pub fn bad(error: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: error.into(),
            details: Vec::new(),
        }
    }

    /// Any status with a message.
    pub fn status(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            details: Vec::new(),
        }
    }

    /// A scenario error, worded as the CLI words it. `what` says whose fault
    /// it is ("the scenario" or "your change").
    pub fn scenario(err: ScenarioError, what: &str) -> Self {
        match err {
            ScenarioError::Invalid(diagnostics) => ApiError {
                status: StatusCode::BAD_REQUEST,
                error: format!("{what} is invalid; nothing was run"),
                details: diagnostics.iter().map(ToString::to_string).collect(),
            },
            other => ApiError::bad(other.to_string()),
        }
    }

    /// The JSON body: `{"error": ..., "details": [...]}`.
    pub fn body(&self) -> Value {
        json!({ "error": self.error, "details": self.details })
    }
}

/// A request to run, or to download, a scenario with changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyRequest {
    /// The page asking (an identifier it made up); required to run.
    #[serde(default)]
    pub page: Option<String>,
    /// A shipped scenario's identifier ...
    #[serde(default)]
    pub scenario: Option<String>,
    /// ... or the text of an uploaded one,
    #[serde(default)]
    pub toml: Option<String>,
    /// with its file name, for messages.
    #[serde(default)]
    pub filename: Option<String>,
    /// The student's changes, applied in order like `--set`.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// Runs (default: the scenario's, at most [`PAGE_DEFAULT_RUNS`] and `--max-runs`).
    #[serde(default)]
    pub runs: Option<u64>,
    /// Master seed (default: the scenario's): a string of digits, as the
    /// page sends it (JavaScript's numbers lose digits past 2^53), or an
    /// exact JSON integer; see [`seed_of`].
    #[serde(default)]
    pub seed: Option<Value>,
}

/// One change: a `--set` path and its new value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Such as `suppliers.Russia.support` or `events.0.set`.
    pub path: String,
    /// A number, `true`/`false`, or `"-inf"` (an option switched off).
    pub value: Value,
}

/// A change as applied, for the page and the downloaded file.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The path.
    pub path: String,
    /// What the scenario had.
    pub from: String,
    /// What the change set.
    pub to: String,
}

/// A request resolved into two validated scenarios.
#[derive(Debug)]
pub struct Resolved {
    /// The scenario as shipped or uploaded (with the request's runs and seed).
    pub baseline: Loaded,
    /// The same with the changes.
    pub variant: Loaded,
    /// The changes, with old and new values.
    pub applied: Vec<Applied>,
    /// The scenario's text as given (comments and all).
    pub text: String,
    /// Its identifier (file stem).
    pub id: String,
    /// Every `--set` argument that turns `text` into the variant, runs and
    /// seed included: what the downloaded file bakes in.
    pub sets: Vec<String>,
}

/// A scenario's text, identifier and origin (as diagnostics name it).
struct Source {
    text: String,
    id: String,
    origin: String,
}

/// The text of a shipped scenario, or an error listing them.
fn shipped(id: &str) -> Result<Source, ApiError> {
    match scenario::SHIPPED.iter().find(|(name, _)| *name == id) {
        Some((name, text)) => Ok(Source {
            text: (*text).to_string(),
            id: (*name).to_string(),
            origin: format!("scenarios/{name}.toml (built in)"),
        }),
        None => {
            let names: Vec<&str> = scenario::SHIPPED.iter().map(|(n, _)| *n).collect();
            Err(ApiError::status(
                StatusCode::NOT_FOUND,
                format!("no shipped scenario `{id}`; shipped: {}", names.join(", ")),
            ))
        }
    }
}

/// An uploaded scenario: its text checked for size, its name reduced to a
/// safe file stem.
fn uploaded(text: String, filename: Option<&str>) -> Result<Source, ApiError> {
    if text.len() > MAX_TOML_BYTES {
        return Err(too_large(text.len()));
    }
    let name = filename
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .filter(|f| !f.trim().is_empty())
        .unwrap_or("uploaded.toml");
    let name: String = name.chars().take(100).collect();
    let stem = name.strip_suffix(".toml").unwrap_or(&name);
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(Source {
        text,
        id: if id.is_empty() { "uploaded".into() } else { id },
        origin: name,
    })
}

/// The 413 for an upload over [`MAX_TOML_BYTES`].
pub fn too_large(bytes: usize) -> ApiError {
    ApiError::status(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the scenario is {} KiB; the page accepts files up to {} KiB (use `armsim run` for larger ones)",
            bytes.div_ceil(1024),
            MAX_TOML_BYTES / 1024
        ),
    )
}

/// Loads an uploaded scenario as `armsim validate` would, and checks that
/// the page can draw it.
///
/// # Errors
/// The CLI's diagnostics, or a 400 if the page cannot show the scenario.
pub fn load_upload(text: String, filename: Option<&str>) -> Result<Loaded, ApiError> {
    let source = uploaded(text, filename)?;
    let loaded = scenario::load_str(&source.text, &source.id, &source.origin, &[])
        .map_err(|e| ApiError::scenario(e, "the scenario"))?;
    check_shape(&loaded.scenario)?;
    Ok(loaded)
}

/// A shipped scenario as loaded.
///
/// # Errors
/// 404 if no shipped scenario has that identifier.
pub fn load_shipped(id: &str) -> Result<Loaded, ApiError> {
    let source = shipped(id)?;
    scenario::load_str(&source.text, &source.id, &source.origin, &[])
        .map_err(|e| ApiError::scenario(e, "the scenario"))
}

fn check_shape(s: &Scenario) -> Result<(), ApiError> {
    if s.quarters() > MAX_PAGE_QUARTERS || s.suppliers().len() > MAX_PAGE_SUPPLIERS {
        return Err(ApiError::bad(format!(
            "the page draws at most {MAX_PAGE_QUARTERS} quarters and {MAX_PAGE_SUPPLIERS} suppliers; \
             this scenario has {} and {} (run it with `armsim run`)",
            s.quarters(),
            s.suppliers().len()
        )));
    }
    Ok(())
}

/// A change's value as the `VALUE` of `--set PATH=VALUE`.
fn value_text(change: &Change) -> Result<String, ApiError> {
    let bad = || {
        ApiError::bad(format!(
            "--set {}: found {}, expected a number, true or false",
            change.path, change.value
        ))
    };
    match &change.value {
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        // "-inf" switches an option off (the outside option); TOML reads it.
        Value::String(s) if s.len() <= 32 && s.trim().parse::<f64>().is_ok() => {
            Ok(s.trim().to_string())
        }
        _ => Err(bad()),
    }
}

/// Whether `path` names something the page may change: a parameter of the
/// scenario, or the value of one of its events.
fn changeable(s: &Scenario, path: &str) -> bool {
    if s.target(path).is_some() {
        return true;
    }
    let segments: Vec<&str> = path.split('.').collect();
    match segments.as_slice() {
        ["events", index, op] => index.parse::<usize>().ok().is_some_and(|i| {
            s.events()
                .iter()
                .any(|e| e.index == i && e.op.name() == *op)
        }),
        _ => false,
    }
}

/// The current value at `path` in `s`, as text.
fn current(s: &Scenario, path: &str) -> String {
    if let Some(target) = s.target(path) {
        return number(s.param(target), target.domain());
    }
    let index = path.split('.').nth(1).and_then(|i| i.parse::<usize>().ok());
    s.events()
        .iter()
        .find(|e| Some(e.index) == index)
        .map(|e| number(e.value, e.target.domain()))
        .unwrap_or_default()
}

fn number(x: f64, domain: Domain) -> String {
    if domain.is_flag() {
        (x == 1.0).to_string()
    } else {
        x.to_string()
    }
}

/// Resolves a request: loads the scenario, applies the changes, runs and
/// seed as `--set` would, and checks the limits.
///
/// # Errors
/// 400 with the CLI's message for any invalid part; 404 for an unknown
/// shipped scenario; 413 for an oversized upload.
pub fn resolve(request: StudyRequest, max_runs: u64) -> Result<Resolved, ApiError> {
    let source = match (request.scenario, request.toml) {
        (Some(id), None) => shipped(&id)?,
        (None, Some(text)) => uploaded(text, request.filename.as_deref())?,
        _ => {
            return Err(ApiError::bad(
                "give either `scenario` (a shipped scenario's id) or `toml` (a scenario's text)",
            ));
        }
    };
    if request.changes.len() > MAX_CHANGES {
        return Err(ApiError::bad(format!(
            "{} changes; the page accepts at most {MAX_CHANGES}",
            request.changes.len()
        )));
    }
    let plain = scenario::load_str(&source.text, &source.id, &source.origin, &[])
        .map_err(|e| ApiError::scenario(e, "the scenario"))?;
    check_shape(&plain.scenario)?;

    let runs = request
        .runs
        .unwrap_or_else(|| default_runs(&plain.scenario, max_runs));
    if runs == 0 || runs > max_runs {
        return Err(ApiError::bad(format!(
            "runs: found {runs}, expected a whole number from 1 to {max_runs} \
             (the most this server runs per request; see `armsim serve --max-runs`)"
        )));
    }
    let mut run_sets = vec![format!("run.runs={runs}")];
    if let Some(seed) = &request.seed {
        run_sets.push(format!("run.seed={}", seed_of(seed)?));
    }

    let mut sets = change_sets(&request.changes)?;
    sets.extend(run_sets.iter().cloned());

    let baseline = scenario::load_str(&source.text, &source.id, &source.origin, &run_sets)
        .map_err(|e| ApiError::scenario(e, "the scenario"))?;
    // The changes go through `--set` itself: an unknown path lists the valid
    // ones, a bad value is reported against the scenario's line.
    let variant = scenario::load_str(&source.text, &source.id, &source.origin, &sets)
        .map_err(|e| ApiError::scenario(e, "your change"))?;

    let applied = applied(&request.changes, &plain.scenario, &variant.scenario)?;
    Ok(Resolved {
        baseline,
        variant,
        applied,
        text: source.text,
        id: source.id,
        sets,
    })
}

/// The page's changes as `--set PATH=VALUE` arguments.
///
/// # Errors
/// A path that cannot be a parameter's, or a value that is not one.
fn change_sets(changes: &[Change]) -> Result<Vec<String>, ApiError> {
    let mut sets = Vec::with_capacity(changes.len() + 2);
    for change in changes {
        if change.path.len() > 200 || change.path.contains(['=', '\n', '\r']) {
            return Err(ApiError::bad(format!(
                "{:?} is not a parameter's path",
                truncate(&change.path, 60)
            )));
        }
        sets.push(format!("{}={}", change.path.trim(), value_text(change)?));
    }
    Ok(sets)
}

/// What each change did: its value in `plain` and in `variant`, the last
/// change of a path winning, changes that change nothing left out.
///
/// # Errors
/// A path the page does not change (run settings have their own boxes).
fn applied(
    changes: &[Change],
    plain: &Scenario,
    variant: &Scenario,
) -> Result<Vec<Applied>, ApiError> {
    let mut applied = Vec::new();
    for change in changes {
        let path = change.path.trim();
        if !changeable(plain, path) {
            return Err(ApiError::bad(format!(
                "{path}: the page changes parameters (world.KEY, buyer.KEY, suppliers.NAME.KEY) \
                 and events' values (events.INDEX.set/scale/add); runs and seed have their own boxes"
            )));
        }
        let (from, to) = (current(plain, path), current(variant, path));
        applied.retain(|a: &Applied| a.path != path);
        if from != to {
            applied.push(Applied {
                path: path.to_string(),
                from,
                to,
            });
        }
    }
    Ok(applied)
}

/// The largest master seed, as `--seed` and `run.seed` accept it.
pub const MAX_SEED: u64 = i64::MAX as u64;

/// A request's seed, exactly: a string of decimal digits or a JSON integer,
/// from 0 to [`MAX_SEED`]. Seeds travel as strings between the page and the
/// server because a JavaScript number holds integers exactly only up to
/// 2^53: 2^53 + 1 would silently become 2^53, another study.
///
/// # Errors
/// 400 naming the value found and the range expected: a number with a
/// fraction or beyond 64 bits, a string that is not digits, or a seed
/// above [`MAX_SEED`].
pub fn seed_of(value: &Value) -> Result<u64, ApiError> {
    let expected = format!("expected a whole number from 0 to {MAX_SEED} (2^63-1)");
    let (text, parsed) = match value {
        Value::String(s) => {
            let t = s.trim();
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            (
                truncate(t, 40),
                digits.then(|| t.parse::<u64>().ok()).flatten(),
            )
        }
        Value::Number(n) => (n.to_string(), n.as_u64()),
        other => (truncate(&other.to_string(), 40), None),
    };
    match parsed {
        Some(seed) if seed <= MAX_SEED => Ok(seed),
        _ => Err(ApiError::bad(format!("seed: found {text}, {expected}"))),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The scenario with the changes as values, ready for `armsim run`: the
/// original text with each value edited in place (comments kept) and a
/// header saying what the page changed.
///
/// # Errors
/// Only if the edit fails, which validation has already ruled out.
pub fn changed_toml(resolved: &Resolved) -> Result<String, ApiError> {
    let (text, _) =
        scenario::overrides::apply_marked(&resolved.text, &resolved.sets, "changed on the page")
            .map_err(|e| ApiError::scenario(e, "your change"))?;
    let mut header = String::from("# Saved from the armsim page (`armsim serve`).\n");
    if resolved.applied.is_empty() {
        header.push_str("# No parameter changed from the original.\n");
    } else {
        header.push_str("# Changed from the original:\n");
        for a in &resolved.applied {
            let _ = writeln!(header, "#   {} = {} (was {})", a.path, a.to, a.from);
        }
    }
    let s = &resolved.variant.scenario;
    let _ = writeln!(
        header,
        "# Runs {} and seed {} as on the page. Run it with: armsim run {}_changed.toml\n",
        s.runs(),
        s.seed(),
        resolved.id
    );
    Ok(header + &text)
}

/// One control of the page: a parameter or an event's value.
#[derive(Debug, Serialize)]
struct Control {
    path: String,
    label: String,
    symbol: &'static str,
    description: String,
    role: &'static str,
    value: Value,
    flag: bool,
    integer: bool,
    /// Slider bounds: the documented range, widened to hold the value.
    slider: [f64; 2],
    step: f64,
    /// Hard bounds, as validation enforces them.
    min: f64,
    max: f64,
    min_open: bool,
    max_open: bool,
    /// Whether `-inf` (off) is allowed.
    off: bool,
    /// Allowed values, in the CLI's words.
    allowed: String,
    note: Option<String>,
}

/// A titled group of controls.
#[derive(Debug, Serialize)]
struct Group {
    title: String,
    featured: bool,
    controls: Vec<Control>,
}

/// JSON for a value: numbers, `true`/`false`, `"-inf"`.
fn json_value(x: f64, domain: Domain) -> Value {
    if domain.is_flag() {
        Value::Bool(x == 1.0)
    } else if x == f64::NEG_INFINITY {
        Value::String("-inf".into())
    } else {
        json!(x)
    }
}

/// A slider step of about a two-hundredth of the span, rounded to 1, 2 or 5
/// times a power of ten.
fn nice_step(lo: f64, hi: f64, integer: bool) -> f64 {
    if integer {
        return 1.0;
    }
    let raw = ((hi - lo) / 200.0).max(1e-6);
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let nice = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * p
}

/// The control of a parameter of `s`.
fn param_control(s: &Scenario, target: Target, description: &str, symbol: &'static str) -> Control {
    let domain = target.domain();
    let value = s.param(target);
    let (lo, hi) = target.range();
    let slider = if value.is_finite() {
        [lo.min(value), hi.max(value)]
    } else {
        [lo, hi]
    };
    let (min, max) = domain.bounds();
    // A path by index if the supplier's name would not survive `--set`.
    let path = match target {
        Target::Supplier(i, p) if s.suppliers()[i].name().contains(['.', '=', ' ']) => {
            format!("suppliers.{i}.{}", p.name())
        }
        _ => s.path_of(target),
    };
    let note = s
        .events()
        .iter()
        .find(|e| e.target == target && e.op == Op::Set)
        .map(|e| {
            format!(
                "An event sets it to {} at {}{}: this is the value before; the timeline below changes the event.",
                number(e.value, domain),
                s.label(e.quarter),
                note_of(e)
            )
        });
    Control {
        label: target.label().to_string(),
        symbol,
        description: description.to_string(),
        role: target.role().word(),
        value: json_value(value, domain),
        flag: domain.is_flag(),
        integer: domain.is_integer(),
        step: nice_step(slider[0], slider[1], domain.is_integer()),
        slider,
        min,
        max,
        min_open: !domain.contains(min),
        max_open: !domain.contains(max),
        off: domain.allows_off(),
        allowed: domain.describe(),
        note,
        path,
    }
}

fn note_of(e: &Event) -> String {
    if e.note.is_empty() {
        String::new()
    } else {
        format!(" ({})", e.note)
    }
}

fn target_parts(target: Target) -> (&'static str, &'static str) {
    match target {
        Target::World(p) => (p.description(), p.symbol()),
        Target::Buyer(p) => (p.description(), p.symbol()),
        Target::Supplier(_, p) => (p.description(), p.symbol()),
    }
}

fn control(s: &Scenario, target: Target) -> Control {
    let (description, symbol) = target_parts(target);
    param_control(s, target, description, symbol)
}

/// The control of an event's value.
fn event_control(s: &Scenario, e: &Event) -> Control {
    let domain = e.target.domain();
    let (description, symbol) = target_parts(e.target);
    let whose = match e.target {
        Target::World(_) => "world".to_string(),
        Target::Buyer(_) => "buyer".to_string(),
        Target::Supplier(i, _) => s.suppliers()[i].name().to_string(),
    };
    let (lo, hi) = e.target.range();
    let (verb, slider, min, max, allowed) = match e.op {
        Op::Set => (
            "set to",
            [lo.min(e.value), hi.max(e.value)],
            domain.bounds().0,
            domain.bounds().1,
            domain.describe(),
        ),
        Op::Scale => (
            "multiplied by",
            [0.0, (2.0f64).max(2.0 * e.value)],
            0.0,
            1e6,
            "a factor 0 or greater".to_string(),
        ),
        Op::Add => {
            let span = (hi - lo).max(e.value.abs());
            (
                "plus",
                [-span, span],
                -1e6,
                1e6,
                "a finite number".to_string(),
            )
        }
    };
    let slider = if e.value.is_finite() {
        slider
    } else {
        [lo, hi]
    };
    let integer = e.op == Op::Set && domain.is_integer();
    Control {
        path: format!("events.{}.{}", e.index, e.op.name()),
        label: format!(
            "{}{} · {whose}: {}, {verb}",
            s.label(e.quarter),
            note_of(e),
            e.target.label(),
        ),
        symbol,
        description: format!(
            "{description} This event changes it at {}; the model takes it from there.",
            s.label(e.quarter)
        ),
        role: "event",
        value: json_value(e.value, domain),
        flag: domain.is_flag(),
        integer,
        step: nice_step(slider[0], slider[1], integer),
        slider,
        min,
        max,
        min_open: e.op == Op::Set && !domain.contains(min),
        max_open: e.op == Op::Set && !domain.contains(max),
        off: e.op == Op::Set && domain.allows_off(),
        allowed,
        note: None,
    }
}

/// Which parameters the page shows first: the buyer's weights, each
/// supplier's stance (and whether it is held) and the speed it moves at, and
/// the world's unrest, pressure and embargo; then the timeline's events. The
/// rest are under "all parameters".
fn featured_world(p: WorldParam) -> bool {
    matches!(
        p,
        WorldParam::UnrestMean | WorldParam::Pressure | WorldParam::Embargo
    )
}

fn featured_buyer(p: BuyerParam) -> bool {
    p.name().ends_with("_weight")
}

fn featured_supplier(p: SupplierParam) -> bool {
    matches!(
        p,
        SupplierParam::Support
            | SupplierParam::HoldSupport
            | SupplierParam::StanceSpeed
            | SupplierParam::AdaptationRate
    )
}

/// The page's description of a scenario: run settings, quarter labels,
/// suppliers and every control, grouped.
pub fn describe(loaded: &Loaded, max_runs: u64) -> Value {
    let s = &loaded.scenario;
    let model = s.model();
    let groups = control_groups(s);
    json!({
        "id": s.id(),
        "name": s.name(),
        "origin": loaded.origin,
        "model": model.name(),
        "model_defaulted": loaded.model_defaulted,
        "start": s.start().to_string(),
        "quarters": s.quarters(),
        "labels": (0..s.quarters()).map(|q| s.label(q).to_string()).collect::<Vec<_>>(),
        "suppliers": s.suppliers().iter().map(|x| x.name()).collect::<Vec<_>>(),
        "runs": default_runs(s, max_runs),
        "max_runs": max_runs,
        // A string: the page keeps every digit (see `seed_of`).
        "seed": s.seed().to_string(),
        // The plots' palette, so a supplier has one colour on the page and
        // in `armsim run`'s pictures.
        "colours": armsim::output::plot::PALETTE
            .iter()
            .map(|(r, g, b)| format!("#{r:02x}{g:02x}{b:02x}"))
            .collect::<Vec<_>>(),
        "groups": groups,
    })
}

/// The page's controls, grouped: first what a student is most likely to
/// change (what the buyer values, each supplier's stance, the world, the
/// timeline), then every other parameter by entity. Empty groups are left
/// out.
fn control_groups(s: &Scenario) -> Vec<Group> {
    let model = s.model();
    let world = |featured: bool| -> Vec<Control> {
        WorldParam::ALL
            .iter()
            .filter(|p| p.models().includes(model) && featured_world(**p) == featured)
            .map(|&p| control(s, Target::World(p)))
            .collect()
    };
    let buyer = |featured: bool| -> Vec<Control> {
        BuyerParam::ALL
            .iter()
            .filter(|p| p.models().includes(model) && featured_buyer(**p) == featured)
            .map(|&p| control(s, Target::Buyer(p)))
            .collect()
    };
    let suppliers = |featured: bool| -> Vec<Group> {
        s.suppliers()
            .iter()
            .enumerate()
            .map(|(i, sup)| Group {
                title: sup.name().to_string(),
                featured,
                controls: SupplierParam::ALL
                    .iter()
                    .filter(|p| p.models().includes(model) && featured_supplier(**p) == featured)
                    .map(|&p| control(s, Target::Supplier(i, p)))
                    .collect(),
            })
            .collect()
    };
    let mut groups = vec![Group {
        title: format!("What {} values", s.buyer_name()),
        featured: true,
        controls: buyer(true),
    }];
    groups.extend(suppliers(true));
    groups.push(Group {
        title: "The world".into(),
        featured: true,
        controls: world(true),
    });
    let mut events: Vec<&Event> = s.events().iter().collect();
    events.sort_by_key(|e| e.index);
    groups.push(Group {
        title: "Timeline: what happens when".into(),
        featured: true,
        controls: events.iter().map(|e| event_control(s, e)).collect(),
    });
    groups.push(Group {
        title: format!("{} (buyer)", s.buyer_name()),
        featured: false,
        controls: buyer(false),
    });
    groups.extend(suppliers(false));
    groups.push(Group {
        title: "The world".into(),
        featured: false,
        controls: world(false),
    });
    groups.retain(|g| !g.controls.is_empty());
    groups
}

/// The shipped scenarios, for the page's menu.
pub fn list(max_runs: u64) -> Value {
    let items: Vec<Value> = scenario::SHIPPED
        .iter()
        .filter_map(|(id, _)| {
            let loaded = scenario::load_shipped(id, &[])?.ok()?;
            let s = &loaded.scenario;
            Some(json!({
                "id": id,
                "name": s.name(),
                "model": s.model().name(),
                "quarters": s.quarters(),
                "start": s.start().to_string(),
                "runs": default_runs(s, max_runs),
            }))
        })
        .collect();
    json!({ "scenarios": items, "max_runs": max_runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(changes: Value) -> StudyRequest {
        serde_json::from_value(json!({
            "scenario": "myanmar_2021",
            "changes": changes,
            "runs": 100,
        }))
        .unwrap()
    }

    #[test]
    fn changes_apply_like_set_and_are_listed_with_their_old_values() {
        let r = resolve(
            request(json!([
                {"path": "suppliers.Russia.support", "value": 0.2},
                {"path": "suppliers.Russia.hold_support", "value": true},
                {"path": "events.0.set", "value": 0.8},
            ])),
            1000,
        )
        .unwrap();
        let s = &r.variant.scenario;
        assert_eq!(s.param(s.target("suppliers.Russia.support").unwrap()), 0.2);
        assert_eq!(s.runs(), 100);
        assert_eq!(r.baseline.scenario.runs(), 100);
        assert_eq!(
            r.baseline
                .scenario
                .param(s.target("suppliers.Russia.support").unwrap()),
            0.9
        );
        let paths: Vec<(&str, &str, &str)> = r
            .applied
            .iter()
            .map(|a| (a.path.as_str(), a.from.as_str(), a.to.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("suppliers.Russia.support", "0.9", "0.2"),
                ("suppliers.Russia.hold_support", "false", "true"),
                ("events.0.set", "0.6", "0.8"),
            ]
        );
        // The downloaded text is the scenario with those values, loadable as is.
        let text = changed_toml(&r).unwrap();
        let again = scenario::load_str(&text, "x", "x", &[]).unwrap();
        assert_eq!(again.hash, r.variant.hash);
        assert!(text.contains("#   suppliers.Russia.support = 0.2 (was 0.9)"));
        // A changed value's comment says it changed and keeps the original
        // note as the old value's, never as the new one's; unchanged values
        // keep their comments as they were.
        let original = scenario::SHIPPED
            .iter()
            .find(|(id, _)| *id == "myanmar_2021")
            .unwrap()
            .1;
        let line_of = |text: &str, key: &str, nth: usize| {
            text.lines()
                .filter(|l| l.trim_start().starts_with(&format!("{key} ")))
                .nth(nth)
                .unwrap()
                .to_string()
        };
        let old_support = line_of(original, "support", 0);
        let new_support = line_of(&text, "support", 0);
        let note = old_support.split_once('#').unwrap().1.trim();
        assert!(!note.is_empty(), "{old_support}");
        assert!(new_support.starts_with("support = 0.2"), "{new_support}");
        assert!(
            new_support.ends_with(&format!(
                "# changed on the page (was 0.9); the original's note: {note}"
            )),
            "{new_support}"
        );
        assert_eq!(
            line_of(&text, "support", 1),
            line_of(original, "support", 1)
        );
    }

    #[test]
    fn seeds_travel_exactly_and_bad_ones_are_named() {
        // 2^53 + 1 is the first whole number a JavaScript number cannot hold.
        for (value, seed) in [
            (json!("9007199254740993"), 9_007_199_254_740_993u64),
            (json!(9_007_199_254_740_993u64), 9_007_199_254_740_993),
            (json!("9223372036854775807"), MAX_SEED),
            (json!(" 0 "), 0),
        ] {
            assert_eq!(seed_of(&value).unwrap(), seed, "{value}");
        }
        for (value, found) in [
            (json!("9223372036854775808"), "9223372036854775808"),
            (json!("12345678901234567890"), "12345678901234567890"),
            (json!("123456789012345678901"), "123456789012345678901"),
            (json!(9_223_372_036_854_775_808u64), "9223372036854775808"),
            (json!(1.5), "1.5"),
            (json!(-1), "-1"),
            (json!("-1"), "-1"),
            (json!("12a"), "12a"),
            (json!(""), ""),
            (json!(true), "true"),
        ] {
            let e = seed_of(&value).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert_eq!(
                e.error,
                format!(
                    "seed: found {found}, expected a whole number from 0 to 9223372036854775807 (2^63-1)"
                )
            );
        }
        // The study and the downloaded file carry the seed as sent.
        let mut req = request(json!([]));
        req.seed = Some(json!("9007199254740993"));
        let r = resolve(req, 1000).unwrap();
        assert_eq!(r.variant.scenario.seed(), 9_007_199_254_740_993);
        assert_eq!(r.baseline.scenario.seed(), 9_007_199_254_740_993);
        let text = changed_toml(&r).unwrap();
        assert!(
            text.contains("seed 9007199254740993 as on the page"),
            "{text}"
        );
        let again = scenario::load_str(&text, "x", "x", &[]).unwrap();
        assert_eq!(again.scenario.seed(), 9_007_199_254_740_993);
    }

    #[test]
    fn bad_changes_get_the_clis_messages() {
        let err = resolve(
            request(json!([{"path": "suppliers.Russia.support", "value": 1.4}])),
            1000,
        )
        .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let cli = scenario::load_baseline(&["suppliers.Russia.support=1.4".into()]).unwrap_err();
        let expected: Vec<String> = cli.diagnostics().iter().map(|d| d.to_string()).collect();
        assert_eq!(err.details, expected);
        assert!(err.details[0].contains("found 1.4, expected a number from 0 to 1"));

        let err = resolve(
            request(json!([{"path": "suppliers.Rusia.support", "value": 0.2}])),
            1000,
        )
        .unwrap_err();
        assert!(err.error.contains("did you mean `Russia`"), "{}", err.error);

        for (path, value) in [
            ("run.seed", json!(3)),
            ("suppliers.Russia.support", json!("high")),
            ("suppliers.Russia.support", json!([1])),
            ("suppliers.Russia.support=0.1\nworld.pressure", json!(1)),
        ] {
            let err = resolve(request(json!([{"path": path, "value": value}])), 1000).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{path}: {}", err.error);
        }
    }

    #[test]
    fn runs_are_capped() {
        let mut r = request(json!([]));
        r.runs = Some(1001);
        let err = resolve(r, 1000).unwrap_err();
        assert!(err.error.contains("from 1 to 1000"), "{}", err.error);
        let mut r = request(json!([]));
        r.runs = None;
        assert_eq!(resolve(r, 1000).unwrap().variant.scenario.runs(), 1000);
        let mut r = request(json!([]));
        r.runs = None;
        let runs = resolve(r, 1_000_000).unwrap().variant.scenario.runs();
        assert_eq!(
            runs, PAGE_DEFAULT_RUNS,
            "the baseline has 100,000; the page starts lighter"
        );
    }

    #[test]
    fn the_description_covers_every_parameter_of_the_model_once() {
        let loaded = scenario::load_baseline(&[]).unwrap();
        let d = describe(&loaded, 100_000);
        let s = &loaded.scenario;
        let mut paths: Vec<String> = d["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["controls"].as_array().unwrap().iter())
            .map(|c| c["path"].as_str().unwrap().to_string())
            .filter(|p| !p.starts_with("events."))
            .collect();
        let n = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), n, "no parameter twice");
        let model = s.model();
        let expected = WorldParam::ALL
            .iter()
            .filter(|p| p.models().includes(model))
            .count()
            + BuyerParam::ALL
                .iter()
                .filter(|p| p.models().includes(model))
                .count()
            + s.suppliers().len()
                * SupplierParam::ALL
                    .iter()
                    .filter(|p| p.models().includes(model))
                    .count();
        assert_eq!(n, expected);
        for p in &paths {
            assert!(s.target(p).is_some(), "{p}");
        }
        // Every slider holds its value, within the hard bounds.
        for g in d["groups"].as_array().unwrap() {
            for c in g["controls"].as_array().unwrap() {
                let (lo, hi) = (
                    c["slider"][0].as_f64().unwrap(),
                    c["slider"][1].as_f64().unwrap(),
                );
                assert!(lo < hi, "{c}");
                if let Some(v) = c["value"].as_f64() {
                    assert!(lo <= v && v <= hi, "{c}");
                }
            }
        }
    }
}
