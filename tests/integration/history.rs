//! History mode: the scenarios that start years before a coup take their
//! starting state from SIPRI's record and share the baseline's traits.

use armsim::data::{Grouping, Imports, Years};
use armsim::model::{Param, Scenario, SupplierParam};
use armsim::scenario::load_file;

use super::root;

fn scenario(file: &str) -> Scenario {
    load_file(&root().join("scenarios").join(file), &[])
        .unwrap()
        .scenario
}

fn myanmar_grouping() -> Grouping {
    Grouping::new(
        [
            ("Russia", vec!["Russia", "Soviet Union"]),
            ("China", vec!["China"]),
            ("India", vec!["India"]),
        ],
        Some("Others"),
    )
    .unwrap()
}

/// Asserts that `scenario`'s stock and recent deliveries are what src/data.rs
/// computes from `data` (stock over `base` years depreciated at the
/// scenario's rate, recent deliveries over `recent` years), to the precision
/// the file writes them (0.1 TIV for the stock, 0.01 for the rate).
fn starts_from_the_record(
    scenario: &Scenario,
    data: &str,
    recipient: Option<&str>,
    grouping: &Grouping,
    base: (i32, i32),
    recent: (i32, i32),
) {
    let grouped = Imports::load(&root().join(data), recipient)
        .unwrap()
        .group(grouping);
    let delta = scenario.buyer()[armsim::model::BuyerParam::Depreciation];
    let stock = grouped
        .installed_base(Years::new(base.0, base.1).unwrap(), delta)
        .unwrap();
    let rate = grouped.quarterly_rate(Years::new(recent.0, recent.1).unwrap());
    for (g, name) in stock.groups.iter().enumerate() {
        let i = scenario.supplier_index(name).unwrap();
        let p = scenario.suppliers()[i].params();
        let (written, computed) = (p[SupplierParam::Stock], stock.stock[g]);
        assert!(
            (written - computed).abs() <= 0.05 + 1e-9,
            "{}: {name}'s stock is {written}, the record gives {computed}",
            scenario.id()
        );
        let (written, computed) = (p[SupplierParam::RecentDeliveries], rate.rate[g]);
        assert!(
            (written - computed).abs() <= 0.005 + 1e-9,
            "{}: {name}'s recent deliveries are {written}, the record gives {computed}",
            scenario.id()
        );
    }
}

#[test]
fn the_baseline_starts_from_sipri_2020() {
    let s = scenario("myanmar_2021.toml");
    starts_from_the_record(
        &s,
        "data/myanmar_imports_sipri_tiv.csv",
        None,
        &myanmar_grouping(),
        (1990, 2020),
        (2016, 2020),
    );
    // And the values docs/model.md section 8 quotes.
    let stock: Vec<f64> = s
        .suppliers()
        .iter()
        .map(|x| x.params()[SupplierParam::Stock])
        .collect();
    assert_eq!(stock, [1021.0, 1601.8, 192.3, 355.5]);
    let recent: Vec<f64> = s
        .suppliers()
        .iter()
        .map(|x| x.params()[SupplierParam::RecentDeliveries])
        .collect();
    assert_eq!(recent, [11.8, 23.75, 8.15, 10.95]);
}

#[test]
fn myanmar_history_starts_from_sipri_2004() {
    starts_from_the_record(
        &scenario("myanmar_history.toml"),
        "data/myanmar_imports_sipri_tiv.csv",
        None,
        &myanmar_grouping(),
        (1990, 2004),
        (2000, 2004),
    );
}

fn thailand_grouping() -> Grouping {
    Grouping::new(
        [
            ("United States", vec!["United States"]),
            ("China", vec!["China"]),
            (
                "Europe",
                vec![
                    "Sweden",
                    "United Kingdom",
                    "Germany",
                    "France",
                    "Italy",
                    "Spain",
                    "Netherlands",
                    "Switzerland",
                    "Austria",
                    "Denmark",
                    "Czechia",
                ],
            ),
        ],
        Some("Others"),
    )
    .unwrap()
}

#[test]
fn thailand_starts_from_sipri_2004_and_2013() {
    let data = "data/sipri_imports_thailand_mali.csv";
    starts_from_the_record(
        &scenario("thailand_history.toml"),
        data,
        Some("Thailand"),
        &thailand_grouping(),
        (1990, 2004),
        (2000, 2004),
    );
    starts_from_the_record(
        &scenario("thailand_2014.toml"),
        data,
        Some("Thailand"),
        &thailand_grouping(),
        (1990, 2013),
        (2009, 2013),
    );
}

/// History is only a longer timeline: every trait of every supplier, and
/// every buyer parameter but the budget (which follows SIPRI's windows), is
/// the forecast scenario's.
fn same_traits(history: &Scenario, baseline: &Scenario) {
    let starting = [
        SupplierParam::Stock,
        SupplierParam::RecentDeliveries,
        SupplierParam::Support,
        SupplierParam::Availability,
    ];
    for (h, b) in history.suppliers().iter().zip(baseline.suppliers()) {
        assert_eq!(h.name(), b.name());
        for &p in SupplierParam::ALL {
            if !starting.contains(&p) {
                assert_eq!(h.params()[p], b.params()[p], "{}.{}", h.name(), p.name());
            }
        }
    }
    for &p in armsim::model::BuyerParam::ALL {
        if p != armsim::model::BuyerParam::Budget {
            assert_eq!(
                history.buyer()[p],
                baseline.buyer()[p],
                "buyer.{}",
                p.name()
            );
        }
    }
}

#[test]
fn history_scenarios_have_their_baselines_traits() {
    let history = scenario("myanmar_history.toml");
    // myanmar_history.toml calibrates the v2 baseline (docs/calibration.md);
    // the baseline itself now runs v3.
    same_traits(&history, &scenario("myanmar_2021_v2.toml"));
    // No known backlog: the baseline's orders were signed from 2018 on, so
    // history places them itself.
    assert!(history.backlog().is_empty());
    same_traits(
        &scenario("thailand_history.toml"),
        &scenario("thailand_2014.toml"),
    );
}
