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
        let segments: Vec<&str> = path.trim().split('.').collect();
        let sections = ["run", "world", "buyer", "suppliers", "events", "backlog"];
        let (table, key, field, path): (&mut toml_edit::Table, &str, Vec<Seg>, String) =
            match segments.as_slice() {
                ["suppliers", who, key] | ["events", who, key] | ["backlog", who, key] => {
                    let section = segments[0];
                    let list = doc
                        .get_mut(section)
                        .and_then(Item::as_array_of_tables_mut)
                        .ok_or_else(|| error(arg, format!("the scenario has no [[{section}]]")))?;
                    let index = if section == "suppliers" {
                        let names: Vec<String> = list
                            .iter()
                            .map(|t| {
                                t.get("name")
                                    .and_then(Item::as_str)
                                    .unwrap_or("")
                                    .to_string()
                            })
                            .collect();
                        match who.parse::<usize>() {
                            Ok(i) if i < names.len() => i,
                            _ => names.iter().position(|n| n == who).ok_or_else(|| {
                                let valid: Vec<&str> = names.iter().map(String::as_str).collect();
                                unknown(arg, "supplier", who, &valid)
                            })?,
                        }
                    } else {
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
                            })?
                    };
                    let valid: Vec<&str> = match section {
                        "suppliers" => table_keys::<SupplierParam>(SUPPLIER_EXTRA_KEYS, model),
                        "events" => EVENT_KEYS.to_vec(),
                        _ => BACKLOG_KEYS.to_vec(),
                    };
                    if !valid.contains(key) {
                        return Err(unknown(arg, &format!("field of {section}"), key, &valid));
                    }
                    let who = if section == "suppliers" {
                        list.get(index)
                            .and_then(|t| t.get("name"))
                            .and_then(Item::as_str)
                            .filter(|n| !n.is_empty())
                            .map_or_else(|| index.to_string(), String::from)
                    } else {
                        index.to_string()
                    };
                    let table = list.get_mut(index).expect("index checked above");
                    (
                        table,
                        key,
                        vec![
                            Seg::Key(section.into()),
                            Seg::Index(index),
                            Seg::Key(key.to_string()),
                        ],
                        format!("{section}.{who}.{key}"),
                    )
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
                        .ok_or_else(|| {
                            error(arg, format!("the scenario has no [{section}] table"))
                        })?;
                    (
                        table,
                        key,
                        vec![Seg::Key(section.to_string()), Seg::Key(key.to_string())],
                        format!("{section}.{key}"),
                    )
                }
                [first, ..] if !sections.contains(first) => {
                    return Err(unknown(arg, "section", first, &sections));
                }
                _ => {
                    return Err(error(
                        arg,
                        "expected run.KEY, world.KEY, buyer.KEY, suppliers.NAME.KEY, events.INDEX.KEY or backlog.INDEX.KEY",
                    ));
                }
            };
        let mut new = parse_value(value);
        let mut bare = new.clone();
        bare.decor_mut().clear();
        let label = format!("{path}={bare}");
        match table.get_mut(key) {
            Some(Item::Value(old)) => {
                // Keep the comment and layout around the value, so lines stay put.
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
        applied.push(Override {
            arg: arg.clone(),
            field: render(&field),
            label,
        });
    }
    Ok((doc.to_string(), applied))
}
