//! Validation: a [`RawScenario`] becomes a [`Scenario`], or every problem in it
//! is reported with its place in the file.

use std::collections::HashSet;

use super::error::Diagnostic;
use super::locate::{Locator, Seg, render};
use super::raw::{QuarterRef, RawEvent, RawRun, RawScenario};
use crate::model::{
    BuyerParam, Event, Op, Param, Params, Procurement, Quarter, Scenario, Supplier, SupplierParam,
    Target, WorldParam,
};

/// Tolerance on initial shares summing to 1.
pub const SHARE_TOLERANCE: f64 = 1e-6;
/// Characters a supplier's name may not hold: they would break `--set`
/// paths (`.`, `=`), CSV (`,`, `"`), pair names (`>`) or markup (`<`, `&`).
pub const FORBIDDEN_IN_NAMES: &[char] = &['.', '=', ',', '"', '>', '<', '&'];
/// Longest supplier name, in characters.
pub const MAX_NAME: usize = 40;
/// Longest horizon accepted, in quarters (a thousand years).
pub const MAX_QUARTERS: u32 = 4000;

/// Parameters that may be left out of a file, and their values.
pub fn default_of<P: Param>(p: P) -> Option<f64> {
    let name = p.name();
    match name {
        "pressure_impulse" | "embargo" | "discount" | "veto" => Some(0.0),
        "budget_multiplier" | "availability" => Some(1.0),
        _ => None,
    }
}

/// Keys of a `[[suppliers]]` table that are not parameters.
pub const SUPPLIER_EXTRA_KEYS: &[&str] = &["name", "share"];
/// Keys of `[buyer]` that are not parameters.
pub const BUYER_EXTRA_KEYS: &[&str] = &["name"];

/// The valid keys of a parameter table, extra keys first.
pub fn table_keys<P: Param>(extra: &[&'static str]) -> Vec<&'static str> {
    extra
        .iter()
        .copied()
        .chain(P::ALL.iter().map(|p| p.name()))
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

impl Checker<'_> {
    fn fail(
        &mut self,
        path: &[Seg],
        found: impl Into<String>,
        expected: impl Into<String>,
        note: Option<String>,
    ) {
        let (line, column) = self.locator.position(path).unzip();
        self.diagnostics.push(Diagnostic {
            file: self.origin.to_string(),
            line,
            column,
            field: render(path),
            found: found.into(),
            expected: expected.into(),
            note,
        });
    }

    /// Reads a parameter table into `Params<P>`, reporting unknown, missing and
    /// out-of-range keys.
    fn params<P: Param>(
        &mut self,
        table: &toml::Table,
        at: &[Seg],
        extra: &[&'static str],
    ) -> Params<P> {
        let valid = table_keys::<P>(extra);
        for k in table.keys() {
            if !valid.contains(&k.as_str()) {
                self.fail(
                    &with(at, key(k)),
                    format!("unknown field `{k}`"),
                    format!("one of: {}", valid.join(", ")),
                    did_you_mean(k, &valid),
                );
            }
        }
        Params::from_fn(|p: P| {
            let path = with(at, key(p.name()));
            match table.get(p.name()) {
                None => default_of(p).unwrap_or_else(|| {
                    self.fail(
                        &path,
                        "nothing",
                        format!("`{}`: {}", p.name(), p.domain().describe()),
                        None,
                    );
                    0.0
                }),
                Some(v) => self.number(v, &path, p.domain()),
            }
        })
    }

    fn number(&mut self, v: &toml::Value, path: &[Seg], domain: crate::model::Domain) -> f64 {
        let x = match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            toml::Value::Boolean(b) if domain == crate::model::Domain::Flag => {
                Some(*b as u8 as f64)
            }
            _ => None,
        };
        match x {
            Some(x) if domain.contains(x) => x,
            _ => {
                let expected = if domain == crate::model::Domain::Flag {
                    "true or false"
                } else {
                    domain.describe()
                };
                self.fail(path, v.to_string(), expected, None);
                0.0
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

    fn run(&mut self, run: &RawRun) -> (Option<Quarter>, Procurement) {
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
        if !(1..=MAX_QUARTERS).contains(&run.quarters) {
            self.fail(
                &with(&at, key("quarters")),
                run.quarters.to_string(),
                format!("1 to {MAX_QUARTERS} quarters"),
                None,
            );
        }
        if run.runs == 0 {
            self.fail(
                &with(&at, key("runs")),
                "0",
                "a whole number 1 or greater",
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
        (start, procurement)
    }

    fn suppliers(&mut self, tables: &[toml::Table]) -> Vec<Supplier> {
        let at = [key("suppliers")];
        if tables.len() < 2 {
            self.fail(
                &at,
                format!("{} supplier(s)", tables.len()),
                "at least two [[suppliers]]",
                None,
            );
        }
        let mut seen = HashSet::new();
        let mut suppliers = Vec::new();
        for (i, table) in tables.iter().enumerate() {
            let here = with(&at, Seg::Index(i));
            let name = self.string(table, &here, "name");
            if name.contains(FORBIDDEN_IN_NAMES) || name.chars().count() > MAX_NAME {
                self.fail(
                    &with(&here, key("name")),
                    format!("{name:?}"),
                    format!(
                        "a name of at most {MAX_NAME} characters without any of {}",
                        FORBIDDEN_IN_NAMES.iter().collect::<String>()
                    ),
                    Some("names appear in --set paths, CSV and Arrow columns and plots".into()),
                );
            } else if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                self.fail(
                    &with(&here, key("name")),
                    format!("{name:?}"),
                    "a name that is not a number",
                    Some(format!(
                        "suppliers.INDEX.KEY counts suppliers from 0, so suppliers.{name}.KEY \
                         would be ambiguous"
                    )),
                );
            } else if matches!(name.as_str(), "world" | "buyer") {
                self.fail(
                    &with(&here, key("name")),
                    format!("{name:?}"),
                    "a name other than \"world\" or \"buyer\"",
                    None,
                );
            } else if !name.is_empty() && !seen.insert(name.clone()) {
                self.fail(
                    &with(&here, key("name")),
                    format!("a second supplier named {name:?}"),
                    "unique supplier names",
                    None,
                );
            }
            let share = match table.get("share") {
                Some(v) => self.number(v, &with(&here, key("share")), crate::model::Domain::Unit),
                None => {
                    self.fail(
                        &with(&here, key("share")),
                        "nothing",
                        "`share`: a number between 0 and 1",
                        None,
                    );
                    0.0
                }
            };
            let params: Params<SupplierParam> = self.params(table, &here, SUPPLIER_EXTRA_KEYS);
            if params[SupplierParam::Discount] > params[SupplierParam::MaxDiscount] {
                self.fail(
                    &with(&here, key("discount")),
                    params[SupplierParam::Discount].to_string(),
                    format!(
                        "a discount no larger than max_discount ({})",
                        params[SupplierParam::MaxDiscount]
                    ),
                    None,
                );
            }
            suppliers.push(Supplier {
                name,
                share,
                params,
            });
        }
        let total: f64 = suppliers.iter().map(|s| s.share).sum();
        if !suppliers.is_empty() && (total - 1.0).abs() > SHARE_TOLERANCE {
            let listed: Vec<String> = suppliers
                .iter()
                .map(|s| format!("{} {}", s.name, s.share))
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
        suppliers
    }

    fn compare(&mut self, run: &RawRun, suppliers: &[Supplier]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (j, pair) in run.compare.iter().enumerate() {
            let path = [key("run"), key("compare"), Seg::Index(j)];
            let found: Vec<Option<usize>> = pair
                .iter()
                .map(|n| suppliers.iter().position(|s| &s.name == n))
                .collect();
            match found.as_slice() {
                [Some(a), Some(b)] if a != b => pairs.push((*a, *b)),
                _ => {
                    let names: Vec<&str> = suppliers.iter().map(|s| s.name.as_str()).collect();
                    let hint = pair
                        .iter()
                        .zip(&found)
                        .find(|(_, f)| f.is_none())
                        .and_then(|(n, _)| did_you_mean(n, &names));
                    self.fail(
                        &path,
                        format!("{pair:?}"),
                        format!(
                            "a pair of two different supplier names, such as [\"Russia\", \"China\"] \
                             (suppliers: {})",
                            names.join(", ")
                        ),
                        hint,
                    )
                }
            }
        }
        pairs
    }

    /// Validates one event; `start` is `None` when the run's start is invalid
    /// (already reported), and then labels are not checked against it.
    fn event(
        &mut self,
        i: usize,
        raw: &RawEvent,
        start: Option<Quarter>,
        quarters: u32,
        suppliers: &[Supplier],
    ) -> Option<Event> {
        let at = [key("events"), Seg::Index(i)];
        let offset = match (&raw.quarter, start) {
            (QuarterRef::Label(label), Some(start)) => {
                Quarter::parse(label).map(|q| start.quarters_until(q))
            }
            (QuarterRef::Label(_), None) => Some(0),
            (QuarterRef::Index(index), _) => Some(*index),
        };
        let quarter = match offset {
            Some(q) if (0..quarters as i64).contains(&q) => Some(q as u32),
            // An invalid horizon is reported already; events are not checked against it.
            _ if !(1..=MAX_QUARTERS).contains(&quarters) => None,
            _ => {
                let start = start.unwrap_or(Quarter { year: 2000, q: 1 });
                let last = start.plus(quarters.saturating_sub(1));
                let found = match &raw.quarter {
                    QuarterRef::Label(l) => format!("{l:?}"),
                    QuarterRef::Index(i) => i.to_string(),
                };
                self.fail(
                    &with(&at, key("quarter")),
                    found,
                    format!(
                        "a quarter within the horizon, {start} to {last} (or 0 to {})",
                        quarters.saturating_sub(1)
                    ),
                    None,
                );
                None
            }
        };
        let ops: Vec<(Op, f64)> = [
            (Op::Set, raw.set),
            (Op::Scale, raw.scale),
            (Op::Add, raw.add),
        ]
        .into_iter()
        .filter_map(|(op, v)| v.map(|v| (op, v)))
        .collect();
        let (op, value) = match ops.as_slice() {
            [(op, v)] if v.is_finite() => (*op, *v),
            [(op, v)] => {
                self.fail(
                    &with(&at, key(op.name())),
                    v.to_string(),
                    "a finite number",
                    None,
                );
                return None;
            }
            _ => {
                self.fail(
                    &at,
                    format!("{} of set/scale/add", ops.len()),
                    "exactly one of `set`, `scale` or `add`",
                    None,
                );
                return None;
            }
        };
        let param_path = with(&at, key("param"));
        let target = match raw.entity.as_str() {
            "world" => self.lookup(&raw.param, &param_path).map(Target::World),
            "buyer" => self.lookup(&raw.param, &param_path).map(Target::Buyer),
            name => match suppliers.iter().position(|s| s.name == name) {
                Some(index) => self
                    .lookup(&raw.param, &param_path)
                    .map(|p| Target::Supplier(index, p)),
                None => {
                    let mut valid = vec!["world", "buyer"];
                    valid.extend(suppliers.iter().map(|s| s.name.as_str()));
                    self.fail(
                        &with(&at, key("entity")),
                        format!("{name:?}"),
                        format!("one of: {}", valid.join(", ")),
                        did_you_mean(name, &valid),
                    );
                    None
                }
            },
        }?;
        let domain = match target {
            Target::World(p) => p.domain(),
            Target::Buyer(p) => p.domain(),
            Target::Supplier(_, p) => p.domain(),
        };
        let op_path = with(&at, key(op.name()));
        match op {
            Op::Set if !domain.contains(value) => {
                self.fail(&op_path, value.to_string(), domain.describe(), None);
            }
            Op::Scale if value < 0.0 => {
                self.fail(&op_path, value.to_string(), "a factor 0 or greater", None);
            }
            Op::Scale | Op::Add if domain == crate::model::Domain::Flag => {
                self.fail(
                    &op_path,
                    format!("`{}` on a yes/no parameter", op.name()),
                    "`set = 0` or `set = 1`",
                    None,
                );
            }
            _ => {}
        }
        Some(Event {
            quarter: quarter?,
            target,
            op,
            value,
            note: raw.note.clone().unwrap_or_default(),
        })
    }

    fn lookup<P: Param>(&mut self, name: &str, path: &[Seg]) -> Option<P> {
        let found = P::from_name(name);
        if found.is_none() {
            let valid: Vec<&str> = P::ALL.iter().map(|p| p.name()).collect();
            self.fail(
                path,
                format!("{name:?}"),
                format!("one of: {}", valid.join(", ")),
                did_you_mean(name, &valid),
            );
        }
        found
    }
}

/// Validates `raw` into a [`Scenario`] called `id`; `origin` names the file in
/// diagnostics and `locator` finds where each field is written.
pub fn validate(
    raw: &RawScenario,
    id: &str,
    origin: &str,
    locator: &Locator<'_>,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut check = Checker {
        origin,
        locator,
        diagnostics: Vec::new(),
    };
    let (start, procurement) = check.run(&raw.run);
    let world: Params<WorldParam> = check.params(&raw.world, &[key("world")], &[]);
    let buyer_name = check.string(&raw.buyer, &[key("buyer")], "name");
    let buyer: Params<BuyerParam> = check.params(&raw.buyer, &[key("buyer")], BUYER_EXTRA_KEYS);
    let suppliers = check.suppliers(&raw.suppliers);
    let compare = check.compare(&raw.run, &suppliers);
    let mut events: Vec<Event> = raw
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| check.event(i, e, start, raw.run.quarters, &suppliers))
        .collect();
    if !check.diagnostics.is_empty() {
        return Err(check.diagnostics);
    }
    // Stable: events of the same quarter keep their file order.
    events.sort_by_key(|e| e.quarter);
    Ok(Scenario {
        id: id.to_string(),
        name: raw.run.name.trim().to_string(),
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
        compare,
    })
}
