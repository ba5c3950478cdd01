//! `--set PATH=VALUE` overrides, applied to the scenario text itself.
//!
//! Editing the TOML document in place (rather than the parsed structs) means an
//! overridden value goes through exactly the same parsing and validation as the
//! file, and keeps its line, so a bad value is reported where it is written.

use toml_edit::{DocumentMut, Item, Value};

use super::error::ScenarioError;
use super::locate::{Seg, render};
use super::raw::{BACKLOG_KEYS, EVENT_KEYS, RUN_KEYS};
use super::validate::{
    BUYER_EXTRA_KEYS, SUPPLIER_EXTRA_KEYS, WORLD_EXTRA_KEYS, did_you_mean, table_keys,
};
use crate::model::{BuyerParam, ModelVersion, SupplierParam, WorldParam};

/// One parsed `--set` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The argument as given, for messages.
    pub arg: String,
    /// The path in the file's terms, such as `suppliers[0].support`.
    pub field: String,
    /// The override in canonical form, for labels and directory names:
    /// suppliers by name, the value as TOML (`suppliers.Russia.support=0.5`
    /// for `--set suppliers.0.support=.5`).
    pub label: String,
}

impl Override {
    /// An override known only by its canonical label (as a state file
    /// records it), for names and titles.
    pub fn from_label(label: &str) -> Override {
        Override {
            arg: label.to_string(),
            field: label
                .split_once('=')
                .map_or(label, |(path, _)| path)
                .to_string(),
            label: label.to_string(),
        }
    }

    /// Whether this override only changes how many runs are made or how
    /// they are seeded (`run.runs`, `run.seed`), not the model: such a study
    /// is still its scenario's, and keeps its default directory and name.
    pub fn is_run_setting(&self) -> bool {
        matches!(self.field.as_str(), "run.runs" | "run.seed")
    }
}

fn error(arg: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Override {
        arg: arg.to_string(),
        message: message.into(),
    }
}

fn unknown(arg: &str, what: &str, given: &str, valid: &[&str]) -> ScenarioError {
    let hint = did_you_mean(given, valid)
        .map(|h| format!("{h} "))
        .unwrap_or_default();
    error(
        arg,
        format!(
            "no {what} `{given}`; {hint}valid here: {}",
            valid.join(", ")
        ),
    )
}

/// The value of `VALUE`: TOML if it parses as TOML (`0.2`, `true`, `"x"`,
/// `[["Russia", "China"]]`), otherwise the plain string.
fn parse_value(text: &str) -> Value {
    let text = text.trim();
    text.parse::<Value>()
        .unwrap_or_else(|_| match text.parse::<f64>() {
            Ok(x) if x.is_finite() && text.bytes().any(|b| b.is_ascii_digit()) => Value::from(x),
            _ => Value::from(text),
        })
}

/// Applies `args` (each `PATH=VALUE`) to `text`, returning the edited text and
/// what each override set.
///
/// Paths: `run.KEY`, `world.KEY`, `buyer.KEY`, `suppliers.NAME.KEY` (or
/// `suppliers.INDEX.KEY`), `events.INDEX.KEY` and `backlog.INDEX.KEY`.
///
/// # Errors
/// [`ScenarioError::Override`] for a malformed argument or a path that names
/// nothing, listing the valid choices at that point; [`ScenarioError::Invalid`]
/// can follow later, from validation, for a bad value.
pub fn apply(text: &str, args: &[String]) -> Result<(String, Vec<Override>), ScenarioError> {
    edit(text, args, None)
}

/// As [`apply`], for a file a person will read: each value that changes
/// gets its comment rewritten to say so, `# NOTE (was OLD); the original's
/// note: ...`, so the file's notes (`support = 0  # openly supports the
/// junta`) never seem to describe the new value.
///
/// # Errors
/// As [`apply`].
pub fn apply_marked(
    text: &str,
    args: &[String],
    note: &str,
) -> Result<(String, Vec<Override>), ScenarioError> {
    edit(text, args, Some(note))
}

/// The comment of a value's decoration (its suffix), without `#`.
fn comment_of(value: &Value) -> String {
    value
        .decor()
        .suffix()
        .and_then(|s| s.as_str())
        .map(|s| s.trim().trim_start_matches('#').trim().to_string())
        .unwrap_or_default()
}

fn edit(
    text: &str,
    args: &[String],
    mark: Option<&str>,
) -> Result<(String, Vec<Override>), ScenarioError> {
    if args.is_empty() {
        return Ok((text.to_string(), Vec::new()));
    }
    // A file that does not parse is reported by the normal path, with spans.
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return Ok((text.to_string(), Vec::new()));
    };
    // Parameters are listed for the file's model (v1 without the key).
    let model = doc
        .get("run")
        .and_then(|run| run.get("model"))
        .and_then(Item::as_str)
        .and_then(ModelVersion::from_name)
        .unwrap_or(ModelVersion::V1);
    let mut applied = Vec::new();
    for arg in args {
        let (path, value) = arg.split_once('=').ok_or_else(|| {
            error(
                arg,
                "expected PATH=VALUE, such as suppliers.Russia.support=0.2",
            )
        })?;
        let place = locate(&mut doc, arg, path, model)?;
        let bare = set_value(place.table, place.key, value, mark);
        applied.push(Override {
            arg: arg.clone(),
            field: render(&place.field),
            label: format!("{}={bare}", place.label),
        });
    }
    Ok((doc.to_string(), applied))
}

/// Where an override's `path` goes in the document: the table, the key,
/// the field (for diagnostics) and the path as a label (a supplier by its
/// name).
struct Place<'d, 'a> {
    table: &'d mut toml_edit::Table,
    key: &'a str,
    field: Vec<Seg>,
    label: String,
}

/// Finds `path` (`section.KEY` or `section.WHO.KEY`) in `doc`, refusing a
/// section, entry or key the scenario or `model` does not have.
fn locate<'d, 'a>(
    doc: &'d mut DocumentMut,
    arg: &str,
    path: &'a str,
    model: ModelVersion,
) -> Result<Place<'d, 'a>, ScenarioError> {
    let segments: Vec<&'a str> = path.trim().split('.').collect();
    let sections = ["run", "world", "buyer", "suppliers", "events", "backlog"];
    match segments.as_slice() {
        [section @ ("suppliers" | "events" | "backlog"), who, key] => {
            let list = doc
                .get_mut(section)
                .and_then(Item::as_array_of_tables_mut)
                .ok_or_else(|| error(arg, format!("the scenario has no [[{section}]]")))?;
            let index = entry_index(list, section, who, arg)?;
            let valid: Vec<&str> = match *section {
                "suppliers" => table_keys::<SupplierParam>(SUPPLIER_EXTRA_KEYS, model),
                "events" => EVENT_KEYS.to_vec(),
                _ => BACKLOG_KEYS.to_vec(),
            };
            if !valid.contains(key) {
                return Err(unknown(arg, &format!("field of {section}"), key, &valid));
            }
            let who = if *section == "suppliers" {
                list.get(index)
                    .and_then(|t| t.get("name"))
                    .and_then(Item::as_str)
                    .filter(|n| !n.is_empty())
                    .map_or_else(|| index.to_string(), String::from)
            } else {
                index.to_string()
            };
            Ok(Place {
                table: list.get_mut(index).expect("index checked above"),
                key,
                field: vec![
                    Seg::Key((*section).into()),
                    Seg::Index(index),
                    Seg::Key((*key).to_string()),
                ],
                label: format!("{section}.{who}.{key}"),
            })
        }
        [section @ ("run" | "world" | "buyer"), key] => {
            let valid: Vec<&str> = match *section {
                "run" => RUN_KEYS.to_vec(),
                "world" => table_keys::<WorldParam>(WORLD_EXTRA_KEYS, model),
                _ => table_keys::<BuyerParam>(BUYER_EXTRA_KEYS, model),
            };
            if !valid.contains(key) {
                return Err(unknown(arg, &format!("field of {section}"), key, &valid));
            }
            let table = doc
                .get_mut(section)
                .and_then(Item::as_table_mut)
                .ok_or_else(|| error(arg, format!("the scenario has no [{section}] table")))?;
            Ok(Place {
                table,
                key,
                field: vec![
                    Seg::Key((*section).to_string()),
                    Seg::Key((*key).to_string()),
                ],
                label: format!("{section}.{key}"),
            })
        }
        [first, ..] if !sections.contains(first) => Err(unknown(arg, "section", first, &sections)),
        _ => Err(error(
            arg,
            "expected run.KEY, world.KEY, buyer.KEY, suppliers.NAME.KEY, events.INDEX.KEY or backlog.INDEX.KEY",
        )),
    }
}

/// The entry `who` of a `[[section]]` list: a supplier by name (or index),
/// an event or backlog entry by index.
fn entry_index(
    list: &toml_edit::ArrayOfTables,
    section: &str,
    who: &str,
    arg: &str,
) -> Result<usize, ScenarioError> {
    if section == "suppliers" {
        let names: Vec<&str> = list
            .iter()
            .map(|t| t.get("name").and_then(Item::as_str).unwrap_or(""))
            .collect();
        return match who.parse::<usize>() {
            Ok(i) if i < names.len() => Ok(i),
            _ => names
                .iter()
                .position(|n| *n == who)
                .ok_or_else(|| unknown(arg, "supplier", who, &names)),
        };
    }
    who.parse::<usize>()
        .ok()
        .filter(|&i| i < list.len())
        .ok_or_else(|| {
            error(
                arg,
                format!(
                    "no {section} entry {who}; they are numbered 0 to {}",
                    list.len().saturating_sub(1)
                ),
            )
        })
}

/// Sets `key` of `table` to `value` (TOML, or a bare string), keeping the
/// comment and layout around an old value so lines stay put, and marking
/// the change with `mark` where given. Returns the value as written,
/// without decoration.
fn set_value(table: &mut toml_edit::Table, key: &str, value: &str, mark: Option<&str>) -> String {
    let mut new = parse_value(value);
    let mut bare = new.clone();
    bare.decor_mut().clear();
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            let mut was = old.clone();
            was.decor_mut().clear();
            let comment = comment_of(old);
            *new.decor_mut() = old.decor().clone();
            if let Some(note) = mark
                && was.to_string() != bare.to_string()
            {
                let kept = if comment.is_empty() {
                    String::new()
                } else {
                    format!("; the original's note: {comment}")
                };
                new.decor_mut()
                    .set_suffix(format!("  # {note} (was {}){kept}", was.to_string().trim()));
            }
            *old = new;
        }
        _ => {
            if let Some(note) = mark {
                new.decor_mut().set_suffix(format!("  # {note}"));
            }
            table.insert(key, Item::Value(new));
        }
    }
    bare.to_string()
}
