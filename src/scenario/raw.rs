//! The scenario file as written: plain serde structs, the only serialisable
//! form of a scenario.
//!
//! `[run]` and `[[events]]` have fixed fields (`deny_unknown_fields`).
//! `[world]`, `[buyer]` and each `[[suppliers]]` are tables whose keys are
//! checked by validation against the parameter enums of [`crate::model`], so
//! parameter names live in one place.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Run settings.
    pub run: RawRun,
    /// World parameters.
    pub world: toml::Table,
    /// Buyer name and parameters.
    pub buyer: toml::Table,
    /// Suppliers, each a table with `name`, `share` and parameters.
    pub suppliers: Vec<toml::Table>,
    /// Known orders not yet delivered at the start (model v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backlog: Vec<RawBacklog>,
    /// The timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<RawEvent>,
    /// Defaults for experiments (outcomes to report), read by
    /// [`crate::experiment`]; not part of the model, so not of the
    /// canonical form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<toml::Table>,
    /// Ranges and settings of a sensitivity analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<toml::Table>,
    /// Priors, data and targets of a calibration ([`crate::calibrate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<toml::Table>,
    /// What makes the scenario a case of the library: its shock, its SIPRI
    /// record and the supplier groups ([`crate::evaluate`]); not part of the
    /// model, so not of the canonical form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<toml::Table>,
}

/// The `[run]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// Human-readable name of the study.
    pub name: String,
    /// Model version, `"v1"` or `"v2"`; a file without it runs v1 (it was
    /// written before v2 existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// First quarter, such as `2021Q1`.
    pub start: String,
    /// Quarters per run.
    pub quarters: u32,
    /// Monte Carlo runs.
    pub runs: u64,
    /// Master seed.
    pub seed: u64,
    /// `contracts` (default) or `expected`.
    #[serde(default = "default_procurement")]
    pub procurement: String,
    /// Supplier pairs `[a, b]` whose rolling shares are compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<Vec<String>>,
}

fn default_procurement() -> String {
    "contracts".to_string()
}

/// Keys of `[run]`, for `--set` and its suggestions.
pub const RUN_KEYS: &[&str] = &[
    "name",
    "model",
    "start",
    "quarters",
    "runs",
    "seed",
    "procurement",
    "compare",
];

/// Keys of `[[backlog]]`.
pub const BACKLOG_KEYS: &[&str] = &["supplier", "value", "first", "last", "note"];

/// One `[[backlog]]` entry: a known order of `supplier`, worth `value` TIV,
/// delivered in equal parts each quarter from `first` to `last`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBacklog {
    /// The supplier's name.
    pub supplier: String,
    /// Total value, TIV millions.
    pub value: f64,
    /// First quarter of delivery: a label or a 0-based index.
    pub first: QuarterRef,
    /// Last quarter of delivery (inclusive).
    pub last: QuarterRef,
    /// What the order is, and its source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Keys of `[[events]]`.
pub const EVENT_KEYS: &[&str] = &[
    "quarter", "entity", "param", "set", "scale", "add", "note", "date", "source",
];

/// One `[[events]]` entry: at `quarter`, change `param` of `entity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// When: a label such as `2021Q3` or a 0-based quarter index.
    pub quarter: QuarterRef,
    /// `world`, `buyer` or a supplier's name.
    pub entity: String,
    /// The parameter's name.
    pub param: String,
    /// New value (`true`/`false` for a yes/no parameter).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number_or_flag"
    )]
    pub set: Option<f64>,
    /// Factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Increment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<f64>,
    /// What the event stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it happened, `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, within `quarter`:
    /// documentation of a timeline, checked but not simulated (so not part
    /// of the canonical form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The document that says it happened (a law, a resolution, a report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Left out of the run: the scenario is replayed under a model (`--set
    /// run.model=...`) that does not read this event's parameter. Never read
    /// from or written to a file.
    #[serde(skip)]
    pub left_out: bool,
}

/// A number, or `true`/`false` read as 1/0 (an event's `set` on a flag).
fn number_or_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number, or true or false")
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v as u8 as f64))
        }
    }
    d.deserialize_any(Visitor)
}

/// A quarter written as a label (`"2021Q3"`) or a 0-based index (`2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarterRef {
    /// A calendar label.
    Label(String),
    /// Quarters after the start.
    Index(i64),
}

impl Serialize for QuarterRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            QuarterRef::Label(l) => s.serialize_str(l),
            QuarterRef::Index(i) => s.serialize_i64(*i),
        }
    }
}

impl<'de> Deserialize<'de> for QuarterRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = QuarterRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a quarter label such as \"2021Q3\" or a 0-based quarter index")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<QuarterRef, E> {
                Ok(QuarterRef::Label(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<QuarterRef, E> {
                Ok(QuarterRef::Index(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<QuarterRef, E> {
                Ok(QuarterRef::Index(v.min(i64::MAX as u64) as i64))
            }
        }
        d.deserialize_any(Visitor)
    }
}
