//! Validation: a [`RawScenario`] becomes a [`Scenario`], or every problem in it
//! is reported with its place in the file. Validation also writes the
//! scenario's canonical form (every value explicit, numbers as floats,
//! quarters as labels), so that equivalent files hash alike.

use std::collections::HashSet;

use super::error::Diagnostic;
use super::locate::{Locator, Seg};
use super::raw::{QuarterRef, RawBacklog, RawEvent, RawRun, RawScenario};
use crate::model::{
    Backlog, BuyerParam, Domain, Event, MAX_BACKLOG, MAX_EVENTS, MAX_QUARTERS, MAX_RUNS,
    MAX_SUPPLIERS, ModelVersion, Models, Op, Param, Params, Procurement, Quarter, Role,
    SHARE_TOLERANCE, Scenario, Supplier, SupplierParam, Target, WorldParam,
};
use crate::summary::{MAX_SUMMARY_BYTES, Summary};

/// Characters a supplier's name may not hold: they would break `--set`
/// paths (`.`, `=`), CSV (`,`, `"`), pair names (`>`) or markup (`<`, `&`).
pub const FORBIDDEN_IN_NAMES: &[char] = &['.', '=', ',', '"', '>', '<', '&'];
/// Longest supplier name, in characters.
pub const MAX_NAME: usize = 40;
/// Keys of a `[[suppliers]]` table that are not parameters.
pub const SUPPLIER_EXTRA_KEYS: &[&str] = &["name", "profile"];
/// Keys of `[buyer]` that are not parameters.
pub const BUYER_EXTRA_KEYS: &[&str] = &["name", "profile"];
/// Keys of `[world]` that are not parameters.
pub const WORLD_EXTRA_KEYS: &[&str] = &["profile"];

/// The valid keys of a parameter table under model `model`, extra keys first.
pub fn table_keys<P: Param>(extra: &[&'static str], model: ModelVersion) -> Vec<&'static str> {
    extra
        .iter()
        .copied()
        .chain(
            P::ALL
                .iter()
                .filter(|p| p.models().includes(model))
                .map(|p| p.name()),
        )
        .collect()
}

/// "did you mean `x`?" for the valid key most like `given`, if any is close.
pub fn did_you_mean(given: &str, valid: &[&str]) -> Option<String> {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(given, v), *v))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| format!("did you mean `{v}`?"))
}

struct Checker<'a> {
    origin: &'a str,
    locator: &'a Locator<'a>,
    model: ModelVersion,
    diagnostics: Vec<Diagnostic>,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

fn with(path: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

/// Which models use a parameter, in words.
fn models_word(models: Models) -> &'static str {
    models.words()
}

impl Checker<'_> {
    fn fail(
        &mut self,
        path: &[Seg],
        found: impl Into<String>,
        expected: impl Into<String>,
        note: Option<String>,
    ) {
        let diagnostic = self
            .locator
            .diagnostic(self.origin, path, found, expected, note);
        self.diagnostics.push(diagnostic);
    }

    /// Reads a parameter table into `Params<P>`, reporting unknown, missing,
    /// out-of-range keys and keys of the other model version.
    fn params<P: Param>(
        &mut self,
        table: &toml::Table,
        at: &[Seg],
        extra: &[&'static str],
    ) -> Params<P> {
        let model = self.model;
        let valid = table_keys::<P>(extra, model);
        for k in table.keys() {
            if valid.contains(&k.as_str()) {
                continue;
            }
            match P::from_name(k) {
                Some(p) => self.fail(
                    &with(at, key(k)),
                    format!("`{k}`, a parameter of model {}", models_word(p.models())),
                    format!("the parameters of model {model} (set [run] model to use it)"),
                    None,
                ),
                None => self.fail(
                    &with(at, key(k)),
                    format!("unknown field `{k}`"),
                    format!("one of: {}", valid.join(", ")),
                    did_you_mean(k, &valid),
                ),
            }
        }
        Params::from_fn(|p: P| {
            let path = with(at, key(p.name()));
            let fallback = p.default().unwrap_or(0.0);
            if !p.models().includes(model) {
                return fallback;
            }
            match table.get(p.name()) {
                None => p.default().unwrap_or_else(|| {
                    self.fail(
                        &path,
                        "nothing",
                        format!("`{}`: {}", p.name(), p.domain().describe()),
                        None,
                    );
                    fallback
                }),
                Some(v) => self.number(v, &path, p.domain()).unwrap_or(fallback),
            }
        })
    }

    fn number(&mut self, v: &toml::Value, path: &[Seg], domain: Domain) -> Option<f64> {
        let x = match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            toml::Value::Boolean(b) if domain.is_flag() => Some(*b as u8 as f64),
            _ => None,
        };
        match x {
            Some(x) if domain.contains(x) => Some(x),
            _ => {
                let expected = if domain.is_flag() {
                    "true or false".to_string()
                } else {
                    domain.describe().to_string()
                };
                self.fail(path, v.to_string(), expected, None);
                None
            }
        }
    }

    fn string(&mut self, table: &toml::Table, at: &[Seg], k: &str) -> String {
        match table.get(k) {
            Some(toml::Value::String(s)) if s.chars().any(char::is_control) => {
                self.fail(
                    &with(at, key(k)),
                    format!("{s:?}"),
                    "a name without control characters (tabs, newlines, escapes)",
                    None,
                );
                String::new()
            }
            Some(toml::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(v) => {
                self.fail(&with(at, key(k)), v.to_string(), "a non-empty string", None);
                String::new()
            }
            None => {
                self.fail(
                    &with(at, key(k)),
                    "nothing",
                    format!("`{k}`: a non-empty string"),
                    None,
                );
                String::new()
            }
        }
    }

    /// The model `[run] model` names: v1 when it is absent, and v3 (after a
    /// report) when it names no model, so the rest is checked against v3.
    fn model_version(&mut self, name: Option<&str>) -> ModelVersion {
        match name {
            None => ModelVersion::V1,
            Some(name) => ModelVersion::from_name(name).unwrap_or_else(|| {
                self.fail(
                    &[key("run"), key("model")],
                    format!("{name:?}"),
                    "\"v1\", \"v2\" or \"v3\"",
                    None,
                );
                ModelVersion::V3
            }),
        }
    }

    /// Checks `[run]`; returns the start (if valid), whether the horizon is
    /// valid (events and backlog are checked against it only then) and the
    /// procurement mode.
    fn run(&mut self, run: &RawRun) -> (Option<Quarter>, bool, Procurement) {
        let at = [key("run")];
        if run.name.trim().is_empty() {
            self.fail(
                &with(&at, key("name")),
                "an empty name",
                "a non-empty string",
                None,
            );
        } else if run.name.chars().any(char::is_control) {
            self.fail(
                &with(&at, key("name")),
                format!("{:?}", run.name),
                "a name without control characters (tabs, newlines, escapes)",
                None,
            );
        }
        let horizon_ok = (1..=MAX_QUARTERS).contains(&run.quarters);
        if !horizon_ok {
            self.fail(
                &with(&at, key("quarters")),
                run.quarters.to_string(),
                format!("a whole number from 1 to {MAX_QUARTERS}"),
                None,
            );
        }
        if !(1..=MAX_RUNS).contains(&run.runs) {
            self.fail(
                &with(&at, key("runs")),
                run.runs.to_string(),
                format!("a whole number from 1 to {MAX_RUNS}"),
                None,
            );
        }
        if run.seed > i64::MAX as u64 {
            self.fail(
                &with(&at, key("seed")),
                run.seed.to_string(),
                "a whole number from 0 to 2^63-1",
                None,
            );
        }
        let start = Quarter::parse(&run.start);
        if start.is_none() {
            self.fail(
                &with(&at, key("start")),
                format!("{:?}", run.start),
                "a quarter such as \"2021Q1\"",
                None,
            );
        }
        let procurement = match run.procurement.as_str() {
            "contracts" => Procurement::Contracts,
            "expected" => Procurement::Expected,
            other => {
                self.fail(
                    &with(&at, key("procurement")),
                    format!("{other:?}"),
                    "\"contracts\" or \"expected\"",
                    None,
                );
                Procurement::Contracts
            }
        };
        (start, horizon_ok, procurement)
    }

    /// Checks `[[suppliers]]`: how many there are, then each supplier in
    /// file order, then (model v1) that their initial shares sum to 1.
    fn suppliers(&mut self, tables: &[toml::Table]) -> Vec<Supplier> {
        if !self.supplier_count(tables.len()) {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let mut suppliers = Vec::new();
        for (i, table) in tables.iter().enumerate() {
            suppliers.push(self.supplier(i, table, &mut seen));
        }
        if self.model == ModelVersion::V1 && !suppliers.is_empty() {
            self.shares_sum_to_one(&suppliers);
        }
        suppliers
    }

    /// Reports a number of suppliers outside 2 to [`MAX_SUPPLIERS`]; returns
    /// whether to read them (not when there are too many).
    fn supplier_count(&mut self, count: usize) -> bool {
        if !(2..=MAX_SUPPLIERS).contains(&count) {
            self.fail(
                &[key("suppliers")],
                format!("{count} supplier(s)"),
                format!("from 2 to {MAX_SUPPLIERS} [[suppliers]]"),
                None,
            );
        }
        count <= MAX_SUPPLIERS
    }

    /// Reads supplier `i` from `table`: its name (`seen` holds the names
    /// before it), its parameters, its discount and its profile.
    fn supplier(&mut self, i: usize, table: &toml::Table, seen: &mut HashSet<String>) -> Supplier {
        let here = [key("suppliers"), Seg::Index(i)];
        let name = self.string(table, &here, "name");
        self.supplier_name(&name, &with(&here, key("name")), seen);
        let params: Params<SupplierParam> = self.params(table, &here, SUPPLIER_EXTRA_KEYS);
        self.discount_within_max(&params, &here);
        let profile = table
            .get(super::profiles::PROFILE_KEY)
            .and_then(toml::Value::as_str)
            .map(str::to_string);
        Supplier {
            name,
            params,
            profile,
        }
    }

    /// Reports the first problem with a supplier's name, at `path`: it would
    /// break paths or outputs, reads as an index, is reserved (`world`,
    /// `buyer`) or repeats a name in `seen` (to which a new name is added).
    fn supplier_name(&mut self, name: &str, path: &[Seg], seen: &mut HashSet<String>) {
        if name.contains(FORBIDDEN_IN_NAMES) || name.chars().count() > MAX_NAME {
            self.fail(
                path,
                format!("{name:?}"),
                format!(
                    "a name of at most {MAX_NAME} characters without any of {}",
                    FORBIDDEN_IN_NAMES.iter().collect::<String>()
                ),
                Some("names appear in --set paths, CSV and Arrow columns and plots".into()),
            );
        } else if name.parse::<usize>().is_ok()
            || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        {
            // Whatever `--set suppliers.WHO.KEY` reads as an index:
            // digits, and also a leading `+` ("+1" is supplier 1).
            self.fail(
                path,
                format!("{name:?}"),
                "a name that is not a number",
                Some(format!(
                    "suppliers.INDEX.KEY counts suppliers from 0, so suppliers.{name}.KEY \
                     would be ambiguous"
                )),
            );
        } else if matches!(name, "world" | "buyer") {
            self.fail(
                path,
                format!("{name:?}"),
                "a name other than \"world\" or \"buyer\"",
                None,
            );
        } else if !name.is_empty() && !seen.insert(name.to_string()) {
            self.fail(
                path,
                format!("a second supplier named {name:?}"),
                "unique supplier names",
                None,
            );
        }
    }

    /// Reports a supplier's discount above its `max_discount`, in models
    /// that have one; `here` is the supplier's table.
    fn discount_within_max(&mut self, params: &Params<SupplierParam>, here: &[Seg]) {
        if SupplierParam::MaxDiscount.models().includes(self.model)
            && params[SupplierParam::Discount] > params[SupplierParam::MaxDiscount]
        {
            self.fail(
                &with(here, key("discount")),
                params[SupplierParam::Discount].to_string(),
                format!(
                    "a discount no larger than max_discount ({})",
                    params[SupplierParam::MaxDiscount]
                ),
                None,
            );
        }
    }

    /// Reports initial shares (model v1) that do not sum to 1 within
    /// [`SHARE_TOLERANCE`], listing every supplier's share.
    fn shares_sum_to_one(&mut self, suppliers: &[Supplier]) {
        let total: f64 = suppliers
            .iter()
            .map(|s| s.params[SupplierParam::Share])
            .sum();
        if (total - 1.0).abs() > SHARE_TOLERANCE {
            let listed: Vec<String> = suppliers
                .iter()
                .map(|s| format!("{} {}", s.name, s.params[SupplierParam::Share]))
                .collect();
            self.fail(
                &[key("suppliers"), Seg::Index(0), key("share")],
                format!(
                    "shares summing to {} ({})",
                    (total * 1e9).round() / 1e9,
                    listed.join(", ")
                ),
                format!("initial shares summing to 1 (within {SHARE_TOLERANCE})"),
                None,
            );
        }
    }

    /// Looks a supplier up by name for `path`, suggesting the nearest name.
    fn supplier_named(
        &mut self,
        name: &str,
        suppliers: &[Supplier],
        path: &[Seg],
    ) -> Option<usize> {
        let found = suppliers.iter().position(|s| s.name == name);
        if found.is_none() {
            let valid: Vec<&str> = suppliers.iter().map(|s| s.name.as_str()).collect();
            self.fail(
                path,
                format!("{name:?}"),
                format!("a supplier's name: {}", valid.join(", ")),
                did_you_mean(name, &valid),
            );
        }
        found
    }

    fn compare(&mut self, run: &RawRun, suppliers: &[Supplier]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (j, pair) in run.compare.iter().enumerate() {
            let path = [key("run"), key("compare"), Seg::Index(j)];
            if pair.len() != 2 || pair[0] == pair[1] {
                self.fail(
                    &path,
                    format!("{pair:?}"),
                    "a pair of two different supplier names, such as [\"Russia\", \"China\"]",
                    None,
                );
                continue;
            }
            let a = self.supplier_named(&pair[0], suppliers, &with(&path, Seg::Index(0)));
            let b = self.supplier_named(&pair[1], suppliers, &with(&path, Seg::Index(1)));
            if let (Some(a), Some(b)) = (a, b) {
                pairs.push((a, b));
            }
        }
        pairs
    }

    /// A quarter written as a label or an index, as a 0-based index within
    /// the horizon; `None` (reported) outside it. With no valid start,
    /// labels are not checked (the start is already reported).
    fn quarter(
        &mut self,
        q: &QuarterRef,
        path: &[Seg],
        start: Option<Quarter>,
        quarters: u32,
        past_the_end: bool,
    ) -> Option<u32> {
        let offset = match (q, start) {
            (QuarterRef::Label(label), Some(start)) => {
                Quarter::parse(label).map(|q| start.quarters_until(q))
            }
            (QuarterRef::Label(_), None) => return None,
            (QuarterRef::Index(index), _) => Some(*index),
        };
        // A known order may be delivered after the run ends (a shortened
        // run still has it on its books); events must happen within it.
        let end = if past_the_end {
            quarters as i64 + MAX_QUARTERS as i64
        } else {
            quarters as i64
        };
        match offset {
            Some(q) if (0..end).contains(&q) => Some(q as u32),
            _ if past_the_end => {
                let found = match q {
                    QuarterRef::Label(l) => format!("{l:?}"),
                    QuarterRef::Index(i) => i.to_string(),
                };
                let start = start.unwrap_or(Quarter { year: 2000, q: 1 });
                self.fail(
                    path,
                    found,
                    format!("a quarter from the start, {start}, on"),
                    None,
                );
                None
            }
            _ => {
                let start = start.unwrap_or(Quarter { year: 2000, q: 1 });
                let last = start.plus(quarters.saturating_sub(1));
                let found = match q {
                    QuarterRef::Label(l) => format!("{l:?}"),
                    QuarterRef::Index(i) => i.to_string(),
                };
                self.fail(
                    path,
                    found,
                    format!(
                        "a quarter within the horizon, {start} to {last} (or 0 to {})",
                        quarters.saturating_sub(1)
                    ),
                    None,
                );
                None
            }
        }
    }

    /// Validates one event; `horizon` is `None` when the run's start or
    /// length is invalid (already reported), and then its quarter is not
    /// checked.
    fn event(
        &mut self,
        i: usize,
        raw: &RawEvent,
        horizon: Option<(Option<Quarter>, u32)>,
        suppliers: &[Supplier],
    ) -> Option<Event> {
        let at = [key("events"), Seg::Index(i)];
        let quarter = self.event_quarter(raw, &at, horizon);
        if let (Some(date), Some(q)) = (&raw.date, quarter) {
            let label = horizon.and_then(|(start, _)| start).map(|s| s.plus(q));
            self.date(date, label, &with(&at, key("date")));
        }
        self.event_source(raw.source.as_deref(), &at);
        let (op, value) = self.event_operation(raw, &at)?;
        let target = self.event_target(raw, &at, suppliers)?;
        self.event_value(op, value, target.domain(), &with(&at, key(op.name())));
        Some(Event {
            quarter: quarter?,
            target,
            op,
            value,
            note: raw.note.clone().unwrap_or_default(),
            index: i,
        })
    }

    /// An event's quarter as an index within the horizon; `None` when the
    /// horizon is invalid (not checked) or the quarter is outside it
    /// (reported). `at` is the event's table.
    fn event_quarter(
        &mut self,
        raw: &RawEvent,
        at: &[Seg],
        horizon: Option<(Option<Quarter>, u32)>,
    ) -> Option<u32> {
        let (start, quarters) = horizon?;
        self.quarter(
            &raw.quarter,
            &with(at, key("quarter")),
            start,
            quarters,
            false,
        )
    }

    /// Reports an event's `source` that is blank or not on one line.
    fn event_source(&mut self, source: Option<&str>, at: &[Seg]) {
        if let Some(source) = source
            && (source.trim().is_empty() || source.chars().any(char::is_control))
        {
            self.fail(
                &with(at, key("source")),
                format!("{source:?}"),
                "a document, named in one line",
                None,
            );
        }
    }

    /// The event's one operation (`set`, `scale` or `add`) and its value;
    /// `None` (reported) for none or several, or a value that is not finite
    /// (except `set = -inf`).
    fn event_operation(&mut self, raw: &RawEvent, at: &[Seg]) -> Option<(Op, f64)> {
        let ops: Vec<(Op, f64)> = [
            (Op::Set, raw.set),
            (Op::Scale, raw.scale),
            (Op::Add, raw.add),
        ]
        .into_iter()
        .filter_map(|(op, v)| v.map(|v| (op, v)))
        .collect();
        match ops.as_slice() {
            [(op, v)] if v.is_finite() || (*op == Op::Set && *v == f64::NEG_INFINITY) => {
                Some((*op, *v))
            }
            [(op, v)] => {
                self.fail(
                    &with(at, key(op.name())),
                    v.to_string(),
                    "a finite number",
                    None,
                );
                None
            }
            _ => {
                self.fail(
                    at,
                    format!("{} of set/scale/add", ops.len()),
                    "exactly one of `set`, `scale` or `add`",
                    None,
                );
                None
            }
        }
    }

    /// The parameter an event changes, named by its `entity` (`world`,
    /// `buyer` or a supplier) and `param`; `None` (reported) where either is
    /// unknown or the parameter only sets up the initial state.
    fn event_target(
        &mut self,
        raw: &RawEvent,
        at: &[Seg],
        suppliers: &[Supplier],
    ) -> Option<Target> {
        let param_path = with(at, key("param"));
        let target = match raw.entity.as_str() {
            "world" => self.lookup(&raw.param, &param_path).map(Target::World),
            "buyer" => self.lookup(&raw.param, &param_path).map(Target::Buyer),
            name => match suppliers.iter().position(|s| s.name == name) {
                Some(index) => self
                    .lookup(&raw.param, &param_path)
                    .map(|p| Target::Supplier(index, p)),
                None => {
                    self.unknown_entity(name, &with(at, key("entity")), suppliers);
                    None
                }
            },
        }?;
        if target.role() == Role::Initial {
            self.fail(
                &param_path,
                format!("{:?}, which only sets up the initial state", raw.param),
                "a parameter an event can change during a run",
                None,
            );
            return None;
        }
        Some(target)
    }

    /// Reports an event's `entity` that is neither `world`, `buyer` nor a
    /// supplier's name, suggesting the nearest.
    fn unknown_entity(&mut self, name: &str, path: &[Seg], suppliers: &[Supplier]) {
        let mut valid = vec!["world", "buyer"];
        valid.extend(suppliers.iter().map(|s| s.name.as_str()));
        self.fail(
            path,
            format!("{name:?}"),
            format!("one of: {}", valid.join(", ")),
            did_you_mean(name, &valid),
        );
    }

    /// Reports an operation the target's `domain` rules out: a `set`
    /// outside it, a negative `scale`, or `scale` or `add` on a yes/no
    /// parameter. `path` is the operation's key.
    fn event_value(&mut self, op: Op, value: f64, domain: Domain, path: &[Seg]) {
        match op {
            Op::Set if !domain.contains(value) => {
                self.fail(path, value.to_string(), domain.describe(), None);
            }
            Op::Scale if value < 0.0 => {
                self.fail(path, value.to_string(), "a factor 0 or greater", None);
            }
            Op::Scale | Op::Add if domain.is_flag() => {
                self.fail(
                    path,
                    format!("`{}` on a yes/no parameter", op.name()),
                    "`set = true` or `set = false`",
                    None,
                );
            }
            _ => {}
        }
    }

    /// Checks an event's `date` (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) and that
    /// it can fall within its quarter `within`.
    fn date(&mut self, date: &str, within: Option<Quarter>, path: &[Seg]) {
        let parts: Vec<&str> = date.split('-').collect();
        let number = |s: &str, len: usize| {
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let parsed = match parts.as_slice() {
            [y] => number(y, 4).map(|y| (y, None)),
            [y, m] => number(y, 4)
                .zip(number(m, 2).filter(|m| (1..=12).contains(m)))
                .map(|(y, m)| (y, Some(m))),
            [y, m, d] => number(y, 4)
                .zip(number(m, 2).filter(|m| (1..=12).contains(m)))
                .filter(|_| number(d, 2).is_some_and(|d| (1..=31).contains(&d)))
                .map(|(y, m)| (y, Some(m))),
            _ => None,
        };
        let Some((year, month)) = parsed else {
            self.fail(
                path,
                format!("{date:?}"),
                "a date such as \"2021-02-01\", \"2021-02\" or \"2021\"",
                None,
            );
            return;
        };
        let Some(q) = within else { return };
        let fits = year as i32 == q.year && month.is_none_or(|m| (m - 1) / 3 + 1 == u32::from(q.q));
        if !fits {
            self.fail(
                path,
                format!("{date:?}"),
                format!("a date within the event's quarter, {q}"),
                None,
            );
        }
    }

    fn lookup<P: Param>(&mut self, name: &str, path: &[Seg]) -> Option<P> {
        let model = self.model;
        let found = P::from_name(name);
        match found {
            Some(p) if !p.models().includes(model) => {
                self.fail(
                    path,
                    format!("{name:?}, a parameter of model {}", models_word(p.models())),
                    format!("a parameter of model {model}"),
                    None,
                );
                None
            }
            Some(p) => Some(p),
            None => {
                let valid: Vec<&str> = P::ALL
                    .iter()
                    .filter(|p| p.models().includes(model))
                    .map(|p| p.name())
                    .collect();
                self.fail(
                    path,
                    format!("{name:?}"),
                    format!("one of: {}", valid.join(", ")),
                    did_you_mean(name, &valid),
                );
                None
            }
        }
    }

    fn backlog(
        &mut self,
        i: usize,
        raw: &RawBacklog,
        horizon: Option<(Option<Quarter>, u32)>,
        suppliers: &[Supplier],
    ) -> Option<Backlog> {
        let at = [key("backlog"), Seg::Index(i)];
        let supplier = self.supplier_named(&raw.supplier, suppliers, &with(&at, key("supplier")));
        let value_domain = Domain::above(0.0, 1e9);
        if !value_domain.contains(raw.value) {
            self.fail(
                &with(&at, key("value")),
                raw.value.to_string(),
                format!("a value in TIV millions, {}", value_domain.describe()),
                None,
            );
        }
        let (start, quarters) = horizon?;
        let first = self.quarter(&raw.first, &with(&at, key("first")), start, quarters, true);
        let last = self.quarter(&raw.last, &with(&at, key("last")), start, quarters, true);
        if let (Some(f), Some(l)) = (first, last)
            && f > l
        {
            self.fail(
                &with(&at, key("last")),
                format!("a last quarter before the first ({f} > {l})"),
                "first <= last",
                None,
            );
            return None;
        }
        Some(Backlog {
            supplier: supplier?,
            value: raw.value,
            first: first?,
            last: last?,
            note: raw.note.clone().unwrap_or_default(),
        })
        .filter(|_| value_domain.contains(raw.value))
    }

    /// Reports more `[[events]]` or `[[backlog]]` entries than allowed, and
    /// a backlog in a model without an order book.
    fn timeline_sizes(&mut self, raw: &RawScenario) {
        if raw.events.len() > MAX_EVENTS {
            self.fail(
                &[key("events")],
                format!("{} events", raw.events.len()),
                format!("at most {MAX_EVENTS} [[events]]"),
                None,
            );
        }
        if raw.backlog.len() > MAX_BACKLOG {
            self.fail(
                &[key("backlog")],
                format!("{} entries", raw.backlog.len()),
                format!("at most {MAX_BACKLOG} [[backlog]] entries"),
                None,
            );
        }
        if !self.model.has_order_book() && !raw.backlog.is_empty() {
            self.fail(
                &[key("backlog")],
                "a [[backlog]] in a model v1 scenario",
                "model = \"v3\" (or \"v2\") in [run] (v1 delivers at once and has no order book)",
                None,
            );
        }
    }

    /// Validates the first [`MAX_EVENTS`] events in file order, skipping
    /// those left out for another model; returns the valid ones.
    fn events(
        &mut self,
        raw: &[RawEvent],
        horizon: Option<(Option<Quarter>, u32)>,
        suppliers: &[Supplier],
    ) -> Vec<Event> {
        raw.iter()
            .take(MAX_EVENTS)
            .enumerate()
            .filter(|(_, e)| !e.left_out)
            .filter_map(|(i, e)| self.event(i, e, horizon, suppliers))
            .collect()
    }

    /// Validates the first [`MAX_BACKLOG`] backlog entries in file order;
    /// returns the valid ones.
    fn backlogs(
        &mut self,
        raw: &[RawBacklog],
        horizon: Option<(Option<Quarter>, u32)>,
        suppliers: &[Supplier],
    ) -> Vec<Backlog> {
        raw.iter()
            .take(MAX_BACKLOG)
            .enumerate()
            .filter_map(|(i, b)| self.backlog(i, b, horizon, suppliers))
            .collect()
    }

    /// Reports a study whose summary of `quarters` quarters, `suppliers`
    /// suppliers and `pairs` compared pairs would not fit in
    /// [`MAX_SUMMARY_BYTES`]; checked only for a valid number of suppliers.
    fn summary_fits(&mut self, quarters: u32, suppliers: usize, pairs: usize) {
        if !(2..=MAX_SUPPLIERS).contains(&suppliers) {
            return;
        }
        let bytes = Summary::estimated_bytes(quarters as usize, suppliers, pairs);
        if bytes > MAX_SUMMARY_BYTES {
            self.fail(
                &[key("run"), key("quarters")],
                format!(
                    "{quarters} quarters x {suppliers} suppliers, whose summary needs {:.1} GB",
                    bytes as f64 / 1e9
                ),
                format!(
                    "a study that fits in {:.1} GB (fewer quarters or suppliers)",
                    MAX_SUMMARY_BYTES as f64 / 1e9
                ),
                None,
            );
        }
    }
}

/// Validates `raw` into a [`Scenario`] called `id`; `origin` names the file in
/// diagnostics and `locator` finds where each field is written.
///
/// # Errors
/// Every problem found, as located [`Diagnostic`]s.
pub fn validate(
    raw: &RawScenario,
    id: &str,
    origin: &str,
    locator: &Locator<'_>,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut check = Checker {
        origin,
        locator,
        model: ModelVersion::V1,
        diagnostics: Vec::new(),
    };
    // Each part is checked in turn, and diagnostics keep this order.
    check.model = check.model_version(raw.run.model.as_deref());
    let (start, horizon_ok, procurement) = check.run(&raw.run);
    let horizon = horizon_ok.then_some((start, raw.run.quarters));
    let world: Params<WorldParam> = check.params(&raw.world, &[key("world")], WORLD_EXTRA_KEYS);
    let buyer_name = check.string(&raw.buyer, &[key("buyer")], "name");
    let buyer: Params<BuyerParam> = check.params(&raw.buyer, &[key("buyer")], BUYER_EXTRA_KEYS);
    let suppliers = check.suppliers(&raw.suppliers);
    let compare = check.compare(&raw.run, &suppliers);
    check.timeline_sizes(raw);
    let mut events = check.events(&raw.events, horizon, &suppliers);
    let backlog = check.backlogs(&raw.backlog, horizon, &suppliers);
    if horizon_ok {
        check.summary_fits(raw.run.quarters, suppliers.len(), compare.len());
    }
    if !check.diagnostics.is_empty() {
        return Err(check.diagnostics);
    }
    // Stable: events of the same quarter keep their file order.
    events.sort_by_key(|e| e.quarter);
    Ok(Scenario {
        id: id.to_string(),
        name: raw.run.name.trim().to_string(),
        model: check.model,
        start: start.expect("an invalid start is reported above"),
        quarters: raw.run.quarters,
        runs: raw.run.runs,
        seed: raw.run.seed,
        procurement,
        world,
        buyer_name,
        buyer,
        suppliers,
        events,
        backlog,
        compare,
    })
}

/// The canonical form of a validated scenario: every parameter of its model
/// written out (defaults included) as a float (flags as booleans), quarters
/// as labels, and nothing else. Two files that mean the same study (`10` or
/// `10.0`, an omitted default or an explicit one, `2` or `"2021Q3"`) have the
/// same canonical form, and so the same hash.
pub fn canonical(raw: &RawScenario, scenario: &Scenario) -> RawScenario {
    let model = scenario.model;
    RawScenario {
        run: canonical_run(raw, scenario),
        world: canonical_table(&scenario.world, model, &[]),
        buyer: canonical_table(&scenario.buyer, model, &[("name", &scenario.buyer_name)]),
        suppliers: canonical_suppliers(scenario),
        backlog: canonical_backlog(scenario),
        events: canonical_events(scenario),
        experiment: None,
        sensitivity: None,
        calibration: None,
        case: None,
    }
}

/// A parameter table in canonical form: the string keys `names` first, then
/// every parameter of `model` as a float (flags as booleans).
fn canonical_table<P: Param>(
    params: &Params<P>,
    model: ModelVersion,
    names: &[(&str, &str)],
) -> toml::Table {
    let mut table = toml::Table::new();
    for (k, v) in names {
        table.insert(k.to_string(), toml::Value::String(v.to_string()));
    }
    for &p in P::ALL.iter().filter(|p| p.models().includes(model)) {
        let value = if p.domain().is_flag() {
            toml::Value::Boolean(params[p] == 1.0)
        } else {
            toml::Value::Float(params[p])
        };
        table.insert(p.name().to_string(), value);
    }
    table
}

/// Quarter `t` of `scenario`'s horizon as a label such as `"2021Q3"`.
fn canonical_quarter(scenario: &Scenario, t: u32) -> QuarterRef {
    QuarterRef::Label(scenario.label(t).to_string())
}

/// `[run]` in canonical form: the model named, the pairs compared as written.
fn canonical_run(raw: &RawScenario, scenario: &Scenario) -> RawRun {
    RawRun {
        name: scenario.name.clone(),
        model: Some(scenario.model.name().to_string()),
        start: scenario.start.to_string(),
        quarters: scenario.quarters,
        runs: scenario.runs,
        seed: scenario.seed,
        procurement: scenario.procurement.name().to_string(),
        compare: raw.run.compare.clone(),
    }
}

/// `[[suppliers]]` in canonical form: each supplier's name, its profile if
/// it has one, then its parameters.
fn canonical_suppliers(scenario: &Scenario) -> Vec<toml::Table> {
    let model = scenario.model;
    scenario
        .suppliers
        .iter()
        .map(|s| match &s.profile {
            Some(profile) => canonical_table(
                &s.params,
                model,
                &[("name", &s.name), (super::profiles::PROFILE_KEY, profile)],
            ),
            None => canonical_table(&s.params, model, &[("name", &s.name)]),
        })
        .collect()
}

/// `[[backlog]]` in canonical form: suppliers by name, quarters as labels,
/// an empty note left out.
fn canonical_backlog(scenario: &Scenario) -> Vec<RawBacklog> {
    scenario
        .backlog
        .iter()
        .map(|b| RawBacklog {
            supplier: scenario.suppliers[b.supplier].name.clone(),
            value: b.value,
            first: canonical_quarter(scenario, b.first),
            last: canonical_quarter(scenario, b.last),
            note: Some(b.note.clone()).filter(|n| !n.is_empty()),
        })
        .collect()
}

/// `[[events]]` in canonical form, in file order (as `--set events.INDEX`
/// counts them).
fn canonical_events(scenario: &Scenario) -> Vec<RawEvent> {
    let mut events: Vec<&Event> = scenario.events.iter().collect();
    events.sort_by_key(|e| e.index);
    events
        .into_iter()
        .map(|e| canonical_event(scenario, e))
        .collect()
}

/// One event in canonical form: its entity by name, its quarter as a label,
/// its one operation, and no date or source.
fn canonical_event(scenario: &Scenario, e: &Event) -> RawEvent {
    let (entity, param) = match e.target {
        Target::World(p) => ("world".to_string(), p.name()),
        Target::Buyer(p) => ("buyer".to_string(), p.name()),
        Target::Supplier(i, p) => (scenario.suppliers[i].name.clone(), p.name()),
    };
    let value = Some(e.value);
    RawEvent {
        quarter: canonical_quarter(scenario, e.quarter),
        entity,
        param: param.to_string(),
        set: value.filter(|_| e.op == Op::Set),
        scale: value.filter(|_| e.op == Op::Scale),
        add: value.filter(|_| e.op == Op::Add),
        note: Some(e.note.clone()).filter(|n| !n.is_empty()),
        date: None,
        source: None,
        left_out: false,
    }
}
