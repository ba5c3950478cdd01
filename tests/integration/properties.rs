//! Invariants that hold for any valid scenario: shares sum to one, nothing is
//! negative, stocks follow purchases and depreciation, budgets are conserved.

use armsim::engine::{QuarterView, Simulator, run_rng};
use armsim::model::{BuyerParam, SupplierParam};
use armsim::scenario::load_str;
use proptest::prelude::*;

/// `x >= 0`, false for NaN.
fn non_negative(x: f64) -> bool {
    x >= 0.0
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * scale.max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold_for_random_scenarios(
        share in 0.0f64..=1.0,
        support in prop::array::uniform2(0.0f64..=1.0),
        availability in prop::array::uniform2(0.0f64..=1.0),
        budget in 0.1f64..500.0,
        depreciation in 0.001f64..=1.0,
        volatility in 0.0f64..2.0,
        expected in any::<bool>(),
        lambda in 0.05f64..10.0,
        spread in 0.0f64..2.0,
        diversification in -5.0f64..5.0,
        seed in 0..=i64::MAX as u64, // TOML integers are signed 64-bit
        run in 0u64..1000,
    ) {
        let overrides = vec![
            format!("suppliers.Alpha.share={share}"),
            format!("suppliers.Beta.share={}", 1.0 - share),
            format!("suppliers.Alpha.support={}", support[0]),
            format!("suppliers.Beta.support={}", support[1]),
            format!("suppliers.Alpha.availability={}", availability[0]),
            format!("suppliers.Beta.availability={}", availability[1]),
            format!("buyer.budget={budget}"),
            format!("buyer.depreciation={depreciation}"),
            format!("buyer.budget_volatility={volatility}"),
            format!("buyer.contracts_per_quarter={lambda}"),
            format!("buyer.contract_spread={spread}"),
            format!("buyer.diversification_weight={diversification}"),
            format!("run.procurement=\"{}\"", if expected { "expected" } else { "contracts" }),
            format!("run.seed={seed}"),
            "run.quarters=30".into(),
        ];
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/minimal.toml")).unwrap();
        let scenario = load_str(&text, "prop", "minimal.toml", &overrides).unwrap().scenario;
        let delta = scenario.buyer[BuyerParam::Depreciation];
        let b_bar = scenario.buyer[BuyerParam::Budget];
        let mut stocks: Vec<f64> = scenario.suppliers.iter().map(|s| s.share * b_bar / delta).collect();
        let max_discount: Vec<f64> = scenario.suppliers.iter().map(|s| s.params[SupplierParam::MaxDiscount]).collect();
        let mut failure: Option<String> = None;
        let mut check = |v: &QuarterView<'_>| {
            let mut fail = |what: String| { failure.get_or_insert(format!("quarter {}: {what}", v.quarter)); };
            let total_stock: f64 = v.stocks.iter().sum();
            if (v.base_share.iter().sum::<f64>() - 1.0).abs() > 1e-9 { fail("base shares do not sum to 1".into()) }
            if v.rolling_defined && (v.rolling_share.iter().sum::<f64>() - 1.0).abs() > 1e-9 { fail("rolling shares do not sum to 1".into()) }
            if !(v.hhi > 0.0 && v.hhi <= 1.0 + 1e-12) { fail(format!("hhi {}", v.hhi)) }
            if !(v.unrest > 0.0 && v.unrest < 1.0 && (0.0..=1.0).contains(&v.pressure)) { fail("world out of range".into()) }
            if !non_negative(v.budget) { fail(format!("budget {}", v.budget)) }
            for i in 0..v.purchases.len() {
                if ![v.purchases[i], v.stocks[i], v.rolling_share[i]].into_iter().all(non_negative) { fail(format!("negative value for supplier {i}")) }
                if !(0.0..=1.0).contains(&v.support[i]) { fail(format!("support {}", v.support[i])) }
                if !(0.0..=max_discount[i]).contains(&v.discount[i]) { fail(format!("discount {}", v.discount[i])) }
                // Stocks follow purchases and depreciation.
                let expected_stock = (1.0 - delta) * stocks[i] + v.purchases[i];
                if !close(v.stocks[i], expected_stock, total_stock) { fail(format!("stock {} != {}", v.stocks[i], expected_stock)) }
                stocks[i] = v.stocks[i];
            }
            // In expected mode the whole budget is spent whenever anyone can sell.
            if expected && (availability[0] > 0.0 || availability[1] > 0.0) && !close(v.total_purchases, v.budget, v.budget) {
                fail(format!("spent {} of budget {}", v.total_purchases, v.budget))
            }
            if !close(v.total_purchases, v.purchases.iter().sum(), v.total_purchases) { fail("total purchases".into()) }
        };
        Simulator::new(&scenario).run(&mut run_rng(seed, run), &mut check);
        prop_assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    }
}
