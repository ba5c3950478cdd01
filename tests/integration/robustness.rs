//! Inputs that once made armsim panic, hang, abort or print wrong numbers
//! (found by fuzzing and by trying it as a new user would): each is a
//! regression test, and random scenario texts and overrides must never
//! panic the loader.

use armsim::engine::{QuarterView, Simulator, run_rng};
use armsim::metrics::{Entity, MetricId};
use armsim::scenario::{ScenarioError, load_baseline, load_str};
use armsim::study::Study;
use proptest::prelude::*;

use super::*;

fn v1_fixture() -> String {
    minimal()
}

fn v2_fixture() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/minimal_v2.toml")).unwrap()
}

fn refused(overrides: &[&str], says: &str) {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let err = load_baseline(&overrides).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(says), "{overrides:?}: {text}");
}

#[test]
fn values_that_broke_the_engine_are_refused_with_the_allowed_range() {
    refused(&["buyer.temperature=0"], "buyer.temperature: found 0");
    refused(
        &["buyer.budget=1.7e308"],
        "a number greater than 0 and at most 1e6",
    );
    refused(&["world.unrest_volatility=1e300"], "a number from 0 to 5");
    refused(&["buyer.contracts_per_quarter=1e12"], "at most 100");
    refused(
        &["suppliers.Russia.delivery_quarters=2.5"],
        "a whole number from 1 to 40",
    );
    refused(&["run.runs=0"], "a whole number from 1 to");
}

#[test]
fn extreme_accepted_values_run_without_panic_and_give_finite_numbers() {
    let loaded = load_baseline(&[
        "run.runs=64".into(),
        "world.unrest_volatility=5".into(),
        "buyer.budget=1e6".into(),
        "buyer.budget_volatility=1".into(),
        "buyer.budget_unrest=10".into(),
        "buyer.contracts_per_quarter=100".into(),
        "buyer.temperature=0.01".into(),
        "buyer.support_weight=100".into(),
    ])
    .unwrap();
    let summary = Study::new(&loaded.scenario)
        .threads(2)
        .run()
        .unwrap()
        .summary;
    summary.check_consistency().unwrap();
    for m in summary.metrics() {
        for q in 0..summary.quarters() {
            if let Some(stat) = summary.stat(q, m) {
                assert!(stat.mean.is_finite(), "{m:?} at {q}: {stat:?}");
                assert!(stat.percentiles.iter().all(|p| p.is_finite()));
            }
        }
    }
}

#[test]
fn events_cannot_push_a_value_out_of_its_domain_or_hang_the_run() {
    // Scaling the budget or the contract rate by an enormous factor clamps
    // it to its domain's bound: the run ends, its numbers are finite.
    let text = v2_fixture()
        + "\n[[events]]\nquarter = 1\nentity = \"buyer\"\nparam = \"budget\"\nscale = 1e300\n\
           \n[[events]]\nquarter = 1\nentity = \"buyer\"\nparam = \"contracts_per_quarter\"\nscale = 1e300\n";
    let s = load_str(&text, "t", "t", &[]).unwrap().scenario;
    let mut budgets = Vec::new();
    Simulator::new(&s).run(&mut run_rng(1, 0), &mut |v: &QuarterView<'_>| {
        budgets.push(v.budget);
        assert!(v.orders.iter().all(|x| x.is_finite()));
    });
    assert!(budgets[2..].iter().all(|&b| b.is_finite() && b > 1e4));
}

#[test]
fn a_study_too_large_for_memory_is_refused_with_its_size() {
    let mut text = v2_fixture().replace("quarters = 8", "quarters = 4000");
    let supplier = text
        [text.find("[[suppliers]]\nname = \"Beta\"").unwrap()..text.find("[[events]]").unwrap()]
        .to_string();
    for i in 0..60 {
        text += &supplier.replace("\"Beta\"", &format!("\"S{i}\""));
    }
    let err = load_str(&text, "big", "big.toml", &[]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("GB") && message.contains("fits in"),
        "{message}"
    );
}

#[test]
fn twenty_quarters_without_deliveries_leave_rolling_shares_empty_not_residue() {
    // Both models: every supplier unavailable from the start, nothing is
    // bought or delivered; after 20 quarters the window holds nothing.
    for (text, overrides) in [
        (v1_fixture(), vec!["run.quarters=30"]),
        (
            v2_fixture(),
            vec!["run.quarters=30", "run.procurement=\"expected\""],
        ),
    ] {
        let text = text.split("[[events]]").next().unwrap().to_string()
            + "[[events]]\nquarter = 0\nentity = \"Alpha\"\nparam = \"availability\"\nset = 0\n\
               [[events]]\nquarter = 0\nentity = \"Beta\"\nparam = \"availability\"\nset = 0\n";
        let overrides: Vec<String> = overrides.into_iter().map(String::from).collect();
        let s = load_str(&text, "t", "t", &overrides).unwrap().scenario;
        let mut last = None;
        Simulator::new(&s).run(&mut run_rng(1, 0), &mut |v: &QuarterView<'_>| {
            last = Some((v.rolling_defined, v.rolling_share.to_vec()));
        });
        let (defined, shares) = last.unwrap();
        assert!(!defined, "{shares:?}");
        assert_eq!(shares, vec![0.0, 0.0]);
    }
}

#[test]
fn a_zero_installed_stock_leaves_base_shares_undefined() {
    // v1 with depreciation 1: the stock is what was bought this quarter, and
    // in quarters without purchases there is no base to share.
    let s = load_str(
        &v1_fixture(),
        "t",
        "t",
        &[
            "buyer.depreciation=1".into(),
            "buyer.contracts_per_quarter=0.3".into(),
            "run.runs=400".into(),
        ],
    )
    .unwrap()
    .scenario;
    let summary = Study::new(&s).threads(1).run().unwrap().summary;
    let q = 5;
    let shares: Vec<_> = (0..2)
        .map(|i| {
            let m = summary
                .metric(Entity::Supplier(i), MetricId::BaseShare)
                .unwrap();
            summary.stat(q, &m).unwrap()
        })
        .collect();
    assert!(shares[0].count < 400, "runs without stock are left out");
    let total: f64 = shares.iter().map(|s| s.mean).sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "defined shares sum to 1: {total}"
    );
}

#[test]
fn flipped_bytes_never_panic_the_summary_decoder() {
    let s = load_baseline(&["run.runs=100".into()]).unwrap().scenario;
    let summary = Study::new(&s).threads(1).run().unwrap().summary;
    let mut bytes = Vec::new();
    summary.encode(&mut bytes);
    for i in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x5a;
        // Never a panic; usually an error (a flip in a bin count or a
        // moment that stays consistent could still decode).
        let _ = armsim::summary::Summary::decode(&mut flipped.as_slice());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random edits of a valid file: the loader returns a scenario or
    /// diagnostics, never panics.
    #[test]
    fn random_edits_of_a_scenario_never_panic_the_loader(
        cut in 0usize..4000,
        len in 0usize..40,
        insert in "[ -~\n]{0,30}",
    ) {
        let text = v2_fixture();
        let cut = cut.min(text.len());
        let end = (cut + len).min(text.len());
        if text.is_char_boundary(cut) && text.is_char_boundary(end) {
            let edited = format!("{}{}{}", &text[..cut], insert, &text[end..]);
            let _ = load_str(&edited, "fuzz", "fuzz.toml", &[]);
        }
    }

    /// Random --set arguments: an error naming the argument, never a panic.
    #[test]
    fn random_overrides_never_panic_the_loader(arg in "[a-zA-Z0-9_.=\\[\\]\"' -]{0,60}") {
        match load_baseline(std::slice::from_ref(&arg)) {
            Ok(_) | Err(ScenarioError::Override { .. }) | Err(ScenarioError::Invalid(_)) => {}
            Err(other) => prop_assert!(false, "{arg}: {other}"),
        }
    }
}

#[test]
fn a_vanishing_budget_gives_shares_that_sum_to_one_or_none() {
    // A budget of 5e-324 (the smallest float) was accepted and its orders
    // were so small that 1 / total overflowed: the five-year shares summed
    // to 3.59. Such amounts are no deliveries: shares are either a true
    // split or undefined.
    for budget in ["5e-324", "1e-310", "1e-300"] {
        for model in [v1_fixture(), v2_fixture()] {
            let overrides = vec![format!("buyer.budget={budget}"), "run.quarters=60".into()];
            let s = load_str(&model, "t", "t", &overrides).unwrap().scenario;
            for k in 0..20 {
                Simulator::new(&s).run(&mut run_rng(7, k), &mut |v: &QuarterView<'_>| {
                    for (defined, shares) in [
                        (v.rolling_defined, v.rolling_share),
                        (v.base_defined, v.base_share),
                    ] {
                        if defined {
                            let sum: f64 = shares.iter().sum();
                            assert!(
                                (sum - 1.0).abs() < 1e-9
                                    && shares.iter().all(|x| (0.0..=1.0).contains(x)),
                                "budget {budget}, quarter {}: shares {shares:?}",
                                v.quarter
                            );
                        }
                    }
                });
            }
        }
    }
}

#[test]
fn a_supplier_named_like_an_index_is_refused() {
    // "+1" parses as the index 1, so `--set suppliers.+1.support=0` would
    // have changed another supplier than the one named "+1".
    for name in ["+1", "0", "+0", "007"] {
        let text = v2_fixture().replacen("name = \"Beta\"", &format!("name = \"{name}\""), 1);
        let err = load_str(&text, "t", "t", &[]).unwrap_err().to_string();
        assert!(err.contains("a name that is not a number"), "{name}: {err}");
    }
}

#[test]
fn an_unwritable_standard_error_is_an_exit_code_not_a_panic() {
    // Writing a message to a full standard error used to panic (exit 101).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("Linux's /dev/full");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_armsim"))
        .args([
            "validate",
            &repo_path("tests/fixtures/broken/negative_budget.toml"),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}
