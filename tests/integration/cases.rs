//! The case library (`scenarios/cases/`): one scenario per shock, each
//! starting from SIPRI's record before its shock year, setting only case
//! facts (every trait comes from the one profile table), with a dated and
//! sourced timeline. These tests read the files as TOML, independently of
//! the loader, and compare their [S] numbers with what src/data.rs computes
//! from `data/sipri_imports_cases.csv`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use armsim::data::{Grouping, Imports, Years};
use armsim::scenario::load_file;
use toml::{Table, Value};

use super::root;

/// The shocks of data/README.md's table, one case file each.
const CASES: [&str; 17] = [
    "myanmar_1988",
    "myanmar_2021",
    "thailand_2006",
    "thailand_2014",
    "pakistan_1990",
    "pakistan_1999",
    "indonesia_1999",
    "chile_1974",
    "turkey_1975",
    "ethiopia_1977",
    "somalia_1977",
    "iran_1979",
    "bangladesh_2007",
    "philippines_2016",
    "zimbabwe_2002",
    "nigeria_1993",
    "mali_2012",
];

/// The permanent members of the Security Council, as SIPRI names them.
const PERMANENT: [&str; 6] = [
    "United States",
    "Soviet Union",
    "Russia",
    "China",
    "France",
    "United Kingdom",
];

/// The keys a case may set in a supplier: every other is a trait and comes
/// from the profile.
const SUPPLIER_KEYS: [&str; 6] = [
    "name",
    "profile",
    "stock",
    "recent_deliveries",
    "support",
    "veto",
];

fn dir() -> PathBuf {
    root().join("scenarios").join("cases")
}

fn path(case: &str) -> PathBuf {
    dir().join(format!("{case}.toml"))
}

fn read(file: &Path) -> Table {
    let text = std::fs::read_to_string(file).unwrap();
    toml::from_str::<Table>(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn table<'a>(t: &'a Table, key: &str, case: &str) -> &'a Table {
    t.get(key)
        .and_then(Value::as_table)
        .unwrap_or_else(|| panic!("{case}: no [{key}] table"))
}

fn string<'a>(t: &'a Table, key: &str, case: &str) -> &'a str {
    t.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{case}: {key} is not a string"))
}

fn number(t: &Table, key: &str, case: &str) -> f64 {
    match t.get(key) {
        Some(Value::Float(x)) => *x,
        Some(Value::Integer(i)) => *i as f64,
        _ => panic!("{case}: {key} is not a number"),
    }
}

fn array<'a>(t: &'a Table, key: &str, case: &str) -> Vec<&'a Table> {
    t.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{case}: no [[{key}]]"))
        .iter()
        .map(|v| v.as_table().unwrap())
        .collect()
}

fn keys(t: &Table) -> BTreeSet<&str> {
    t.keys().map(String::as_str).collect()
}

/// "1990Q4" as (1990, 4).
fn quarter(q: &str) -> (i32, u32) {
    let (y, n) = q
        .split_once('Q')
        .unwrap_or_else(|| panic!("{q}: not a quarter"));
    let n: u32 = n.parse().unwrap();
    assert!((1..=4).contains(&n), "{q}: not a quarter");
    (y.parse().unwrap(), n)
}

/// Quarters since year 0, to compare and count.
fn index(q: (i32, u32)) -> i64 {
    q.0 as i64 * 4 + q.1 as i64 - 1
}

/// "1990-10-01" or "1990-10" as (year, month), checking the day if given.
fn date(d: &str, case: &str) -> (i32, u32) {
    let parts: Vec<&str> = d.split('-').collect();
    assert!(
        (parts.len() == 2 || parts.len() == 3) && parts[0].len() == 4 && parts[1].len() == 2,
        "{case}: date {d} is not YYYY-MM-DD or YYYY-MM"
    );
    let year: i32 = parts[0].parse().unwrap();
    let month: u32 = parts[1].parse().unwrap();
    assert!((1..=12).contains(&month), "{case}: date {d}");
    if let Some(day) = parts.get(2) {
        let day: u32 = day.parse().unwrap();
        assert!((1..=31).contains(&day), "{case}: date {d}");
    }
    (year, month)
}

/// The shared profile table.
fn profiles() -> Table {
    read(&dir().join("profiles.toml"))
}

/// The case's groups as (name, SIPRI names), in the order the file writes
/// them (read with toml_edit: a `toml::Table` sorts its keys).
fn groups(case: &str) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path(case)).unwrap();
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["case"]["groups"]
        .as_table()
        .unwrap_or_else(|| panic!("{case}: no [case.groups]"))
        .iter()
        .map(|(name, members)| {
            let members = members
                .as_array()
                .unwrap_or_else(|| panic!("{case}: group {name} is not a list"))
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            (name.to_string(), members)
        })
        .collect()
}

#[test]
fn the_library_has_one_case_per_shock() {
    let mut files: Vec<String> = super::names(&dir())
        .into_iter()
        .filter(|f| f.ends_with(".toml") && f != "profiles.toml")
        .map(|f| f.trim_end_matches(".toml").to_string())
        .collect();
    files.sort();
    let mut expected: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn every_case_loads() {
    for case in CASES {
        let loaded = load_file(&path(case), &[]).unwrap_or_else(|e| panic!("{case}: {e}"));
        let s = loaded.scenario;
        let t = read(&path(case));
        let names: Vec<&str> = s.suppliers().iter().map(|x| x.name()).collect();
        let expected: Vec<String> = array(&t, "suppliers", case)
            .iter()
            .map(|x| string(x, "name", case).to_string())
            .collect();
        assert_eq!(names, expected, "{case}");
    }
}

#[test]
fn runs_start_in_the_shock_year_and_last_eight_years() {
    for case in CASES {
        let t = read(&path(case));
        let run = table(&t, "run", case);
        let c = table(&t, "case", case);
        let year: i32 = case.rsplit('_').next().unwrap().parse().unwrap();
        assert_eq!(string(run, "model", case), "v3", "{case}");
        assert_eq!(string(run, "start", case), format!("{year}Q1"), "{case}");
        assert_eq!(number(run, "quarters", case), 32.0, "{case}");
        assert_eq!(string(run, "procurement", case), "contracts", "{case}");
        let shock = quarter(string(c, "shock", case));
        assert_eq!(shock.0, year, "{case}: the shock is in the start year");
        assert!(
            ["coup", "embargo", "sanctions", "patron switch"].contains(&string(c, "kind", case)),
            "{case}: kind"
        );
        assert!(!string(c, "summary", case).trim().is_empty(), "{case}");
        assert_eq!(string(c, "others", case), "Others", "{case}");
        let data = dir().join(string(c, "data", case));
        assert_eq!(
            data.canonicalize().unwrap(),
            root()
                .join("data/sipri_imports_cases.csv")
                .canonicalize()
                .unwrap(),
            "{case}: data"
        );
    }
}

#[test]
fn groups_are_the_suppliers_with_others_last() {
    for case in CASES {
        let t = read(&path(case));
        let groups = groups(case);
        let suppliers = array(&t, "suppliers", case);
        let names: Vec<&str> = suppliers.iter().map(|s| string(s, "name", case)).collect();
        let mut expected: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
        expected.push("Others");
        assert_eq!(
            names, expected,
            "{case}: suppliers in group order, Others last"
        );
        assert!(
            (2..=4).contains(&groups.len()),
            "{case}: {} named groups",
            groups.len()
        );
        // A veto holder is a group with a permanent member in it; the
        // catch-all holds none of its own.
        for (s, (name, members)) in suppliers.iter().zip(&groups) {
            let holds = members.iter().any(|m| PERMANENT.contains(&m.as_str()));
            assert_eq!(
                s.get("veto").and_then(Value::as_bool),
                Some(holds),
                "{case}: {name}'s veto"
            );
        }
        assert_eq!(
            suppliers
                .last()
                .unwrap()
                .get("veto")
                .and_then(Value::as_bool),
            Some(false),
            "{case}: Others' veto"
        );
    }
}

#[test]
fn cases_set_only_case_facts() {
    let profiles = profiles();
    let supplier_profiles = table(&profiles, "suppliers", "profiles.toml");
    for case in CASES {
        let t = read(&path(case));
        let world = table(&t, "world", case);
        assert_eq!(
            keys(world),
            BTreeSet::from(["profile", "unrest_mean", "pressure"]),
            "{case}: [world]"
        );
        assert_eq!(string(world, "profile", case), "default");
        let buyer = table(&t, "buyer", case);
        assert_eq!(
            keys(buyer),
            BTreeSet::from(["profile", "name", "budget"]),
            "{case}: [buyer]"
        );
        assert_eq!(string(buyer, "profile", case), "default");
        for s in array(&t, "suppliers", case) {
            let name = string(s, "name", case);
            assert_eq!(
                keys(s),
                BTreeSet::from(SUPPLIER_KEYS),
                "{case}: supplier {name} sets exactly the case facts"
            );
            let profile = string(s, "profile", case);
            assert!(
                supplier_profiles.contains_key(profile),
                "{case}: {name}'s profile {profile} is not in profiles.toml"
            );
            let support = number(s, "support", case);
            assert!((0.0..=1.0).contains(&support), "{case}: {name}'s support");
        }
        let u = number(world, "unrest_mean", case);
        assert!(u > 0.0 && u < 1.0, "{case}: unrest_mean");
        let p = number(world, "pressure", case);
        assert!((0.0..=1.0).contains(&p), "{case}: pressure");
    }
}

#[test]
fn profiles_hold_traits_only_and_the_same_traits_each() {
    let profiles = profiles();
    assert_eq!(
        keys(&profiles),
        BTreeSet::from(["world", "buyer", "suppliers"])
    );
    let world = table(table(&profiles, "world", "profiles"), "default", "world");
    for fact in ["unrest_mean", "pressure"] {
        assert!(!world.contains_key(fact), "world.default sets {fact}");
    }
    let buyer = table(table(&profiles, "buyer", "profiles"), "default", "buyer");
    for fact in ["name", "budget"] {
        assert!(!buyer.contains_key(fact), "buyer.default sets {fact}");
    }
    let suppliers = table(&profiles, "suppliers", "profiles");
    let first = keys(suppliers.values().next().unwrap().as_table().unwrap());
    for (name, p) in suppliers {
        let p = p.as_table().unwrap();
        assert_eq!(keys(p), first, "profile {name} sets other traits");
        for fact in ["name", "stock", "recent_deliveries", "support", "veto"] {
            assert!(
                !p.contains_key(fact),
                "profile {name} sets the case fact {fact}"
            );
        }
    }
    for name in [
        "United States",
        "Soviet Union",
        "Russia",
        "China",
        "France",
        "United Kingdom",
        "Germany",
        "Others",
    ] {
        assert!(suppliers.contains_key(name), "no profile for {name}");
    }
}

/// Stock (to 0.1 TIV), recent deliveries (to 0.01) and the budget (to 0.01)
/// are what src/data.rs computes from the record up to the end of the year
/// before the shock: deliveries from 1950 depreciated at the profile's rate,
/// the mean per quarter over the five years before the shock year, and
/// their total.
#[test]
fn starting_states_are_the_record_before_the_shock_year() {
    let profiles = profiles();
    let buyer = table(table(&profiles, "buyer", "profiles"), "default", "buyer");
    let delta = number(buyer, "depreciation", "profiles");
    for case in CASES {
        let t = read(&path(case));
        let c = table(&t, "case", case);
        let year = quarter(string(table(&t, "run", case), "start", case)).0;
        let groups = groups(case);
        let grouping = Grouping::new(
            groups.iter().map(|(n, m)| (n.as_str(), m.clone())),
            Some(string(c, "others", case)),
        )
        .unwrap();
        let imports = Imports::load(
            &root().join("data/sipri_imports_cases.csv"),
            Some(string(c, "recipient", case)),
        )
        .unwrap();
        let grouped = imports.group(&grouping);
        let stock = grouped
            .installed_base(Years::new(1950, year - 1).unwrap(), delta)
            .unwrap();
        let rate = grouped.quarterly_rate(Years::new(year - 5, year - 1).unwrap());
        let suppliers = array(&t, "suppliers", case);
        for (g, s) in suppliers.iter().enumerate() {
            let name = string(s, "name", case);
            assert_eq!(stock.groups[g], name, "{case}");
            let (written, computed) = (number(s, "stock", case), stock.stock[g]);
            assert!(
                (written - computed).abs() <= 0.05 + 1e-9,
                "{case}: {name}'s stock is {written}, the record to {} gives {computed}",
                year - 1
            );
            let (written, computed) = (number(s, "recent_deliveries", case), rate.rate[g]);
            assert!(
                (written - computed).abs() <= 0.005 + 1e-9,
                "{case}: {name}'s recent deliveries are {written}, {}-{} give {computed}",
                year - 5,
                year - 1
            );
        }
        let budget = number(table(&t, "buyer", case), "budget", case);
        let total: f64 = rate.rate.iter().sum();
        assert!(
            (budget - total).abs() <= 0.005 + 1e-9,
            "{case}: budget {budget}, deliveries {}-{} averaged {total} a quarter",
            year - 5,
            year - 1
        );
    }
}

#[test]
fn events_are_dated_within_their_quarter_and_sourced() {
    for case in CASES {
        let t = read(&path(case));
        let start = quarter(string(table(&t, "run", case), "start", case));
        let end = index(start) + number(table(&t, "run", case), "quarters", case) as i64;
        let suppliers: BTreeSet<&str> = array(&t, "suppliers", case)
            .iter()
            .map(|s| string(s, "name", case))
            .collect();
        let events = array(&t, "events", case);
        assert!(!events.is_empty(), "{case}: no timeline");
        for e in events {
            let q = quarter(string(e, "quarter", case));
            assert!(
                index(q) >= index(start) && index(q) < end,
                "{case}: event at {q:?} outside the run"
            );
            let d = string(e, "date", case);
            let (year, month) = date(d, case);
            assert_eq!(
                (year, (month - 1) / 3 + 1),
                q,
                "{case}: date {d} is not in quarter {q:?}"
            );
            assert!(
                !string(e, "source", case).trim().is_empty(),
                "{case}: event at {d} has no source"
            );
            assert!(!string(e, "note", case).trim().is_empty(), "{case}");
            let entity = string(e, "entity", case);
            assert!(
                entity == "world" || entity == "buyer" || suppliers.contains(entity),
                "{case}: event for unknown entity {entity}"
            );
            let ops = ["set", "scale", "add"]
                .iter()
                .filter(|op| e.contains_key(**op))
                .count();
            assert_eq!(ops, 1, "{case}: event at {d} needs one of set, scale, add");
        }
    }
}

#[test]
fn the_data_is_the_shared_extract() {
    let ours = std::fs::read(root().join("data/sipri_imports_cases.csv")).unwrap();
    let shared = root().join("../shared/data/sipri_imports_cases.csv");
    if let Ok(theirs) = std::fs::read(&shared) {
        assert!(
            ours == theirs,
            "data/sipri_imports_cases.csv differs from {}",
            shared.display()
        );
    }
    // The fourteen buyers, whatever the shared copy.
    let text = String::from_utf8(ours).unwrap();
    let buyers: BTreeSet<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(buyers.len(), 14, "{buyers:?}");
}
