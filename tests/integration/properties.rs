//! Invariants that hold for any valid scenario, in both model versions:
//! shares sum to one, nothing is negative, stocks follow deliveries and
//! depreciation, the budget is conserved, the order book is conserved.

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

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Checks every quarter of a run against the invariants both models share;
/// `stocks` starts at the initial installed stock.
struct Checks {
    delta: f64,
    max_discount: Vec<f64>,
    stocks: Vec<f64>,
    expected_mode: bool,
    anyone_available: bool,
    failure: Option<String>,
}

impl Checks {
    fn check(&mut self, v: &QuarterView<'_>) {
        let mut failures = Vec::new();
        let mut fail = |what: String| failures.push(what);
        let total_stock: f64 = v.stocks.iter().sum();
        if v.base_defined && (v.base_share.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            fail("base shares do not sum to 1".into())
        }
        if v.base_defined != (total_stock > 0.0) {
            fail("base shares defined without stock".into())
        }
        if v.rolling_defined && (v.rolling_share.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            fail(format!(
                "rolling shares do not sum to 1: {:?}",
                v.rolling_share
            ))
        }
        if !v.rolling_defined && v.rolling_share.iter().any(|&s| s != 0.0) {
            fail("rolling shares without deliveries".into())
        }
        if v.base_defined && !(v.hhi > 0.0 && v.hhi <= 1.0 + 1e-12) {
            fail(format!("hhi {}", v.hhi))
        }
        if !(v.unrest > 0.0 && v.unrest < 1.0 && (0.0..=1.0).contains(&v.pressure)) {
            fail("world out of range".into())
        }
        if !non_negative(v.budget) || !v.budget.is_finite() {
            fail(format!("budget {}", v.budget))
        }
        if !(v.outside.is_nan() || (0.0..=1.0).contains(&v.outside)) {
            fail(format!("outside share {}", v.outside))
        }
        for i in 0..v.orders.len() {
            let values = [
                v.orders[i],
                v.deliveries[i],
                v.backlog[i],
                v.stocks[i],
                v.rolling_share[i],
            ];
            if !values.into_iter().all(|x| non_negative(x) && x.is_finite()) {
                fail(format!(
                    "negative or infinite value for supplier {i}: {values:?}"
                ))
            }
            if !(0.0..=1.0).contains(&v.support[i]) {
                fail(format!("support {}", v.support[i]))
            }
            if !(0.0..=self.max_discount[i]).contains(&v.discount[i]) {
                fail(format!("discount {}", v.discount[i]))
            }
            // Stocks follow deliveries and depreciation.
            let expected_stock = (1.0 - self.delta) * self.stocks[i] + v.deliveries[i];
            if !close(v.stocks[i], expected_stock, total_stock) {
                fail(format!("stock {} != {}", v.stocks[i], expected_stock))
            }
            self.stocks[i] = v.stocks[i];
        }
        // In expected mode the whole budget is awarded whenever anyone can
        // sell (to suppliers, or to the outside option).
        if self.expected_mode && self.anyone_available {
            let outside = if v.outside.is_nan() { 0.0 } else { v.outside };
            let to_suppliers = v.budget * (1.0 - outside);
            if !close(v.total_orders, to_suppliers, v.budget) {
                fail(format!(
                    "ordered {} of budget {} ({outside} outside)",
                    v.total_orders, v.budget
                ))
            }
        }
        if !close(v.total_orders, v.orders.iter().sum(), v.total_orders)
            || !close(v.imports, v.deliveries.iter().sum(), v.imports)
        {
            fail("totals".into())
        }
        if let Some(first) = failures.into_iter().next() {
            self.failure
                .get_or_insert(format!("quarter {}: {first}", v.quarter));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn v1_invariants_hold_for_random_scenarios(
        share in 0.0f64..=1.0,
        support in prop::array::uniform2(0.0f64..=1.0),
        availability in prop::array::uniform2(0.0f64..=1.0),
        budget in 0.1f64..500.0,
        depreciation in 0.001f64..=1.0,
        volatility in 0.0f64..1.0,
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
        let scenario = load_str(&fixture("minimal.toml"), "prop", "minimal.toml", &overrides).unwrap().scenario;
        let delta = scenario.buyer()[BuyerParam::Depreciation];
        let b_bar = scenario.buyer()[BuyerParam::Budget];
        let mut checks = Checks {
            delta,
            max_discount: scenario.suppliers().iter().map(|s| s.params()[SupplierParam::MaxDiscount]).collect(),
            stocks: scenario.suppliers().iter().map(|s| s.params()[SupplierParam::Share] * b_bar / delta).collect(),
            expected_mode: expected,
            anyone_available: availability[0] > 0.0 || availability[1] > 0.0,
            failure: None,
        };
        Simulator::new(&scenario).run(&mut run_rng(seed, run), &mut |v: &QuarterView<'_>| checks.check(v));
        prop_assert!(checks.failure.is_none(), "{}", checks.failure.unwrap_or_default());
    }

    #[test]
    fn v2_invariants_hold_for_random_scenarios(
        stock in prop::array::uniform2(0.0f64..2000.0),
        recent in prop::array::uniform2(0.0f64..50.0),
        support in prop::array::uniform2(0.0f64..=1.0),
        availability in prop::array::uniform2(0.01f64..=1.0),
        budget in 0.1f64..500.0,
        depreciation in 0.001f64..=1.0,
        volatility in 0.0f64..1.0,
        expected in any::<bool>(),
        lambda in 0.05f64..10.0,
        outside in prop::option::of(-5.0f64..5.0),
        dependence in 0.0f64..50.0,
        ceiling in 0.0f64..=1.0,
        speed in prop::array::uniform2(0.0f64..=1.0),
        scale in prop::array::uniform2(0.001f64..5.0),
        profile in prop::array::uniform2((0u32..=8, 1u32..=12)),
        temperature in 0.01f64..5.0,
        seed in 0..=i64::MAX as u64,
        run in 0u64..1000,
    ) {
        let mut overrides = vec![
            format!("buyer.budget={budget}"),
            format!("buyer.depreciation={depreciation}"),
            format!("buyer.budget_volatility={volatility}"),
            format!("buyer.contracts_per_quarter={lambda}"),
            format!("buyer.dependence_weight={dependence}"),
            format!("buyer.dependence_ceiling={ceiling}"),
            format!("buyer.temperature={temperature}"),
            format!("run.procurement=\"{}\"", if expected { "expected" } else { "contracts" }),
            format!("run.seed={seed}"),
            "run.quarters=30".into(),
        ];
        if let Some(v0) = outside {
            overrides.push(format!("buyer.outside_option={v0}"));
        }
        for (i, name) in ["Alpha", "Beta"].into_iter().enumerate() {
            overrides.extend([
                format!("suppliers.{name}.stock={}", stock[i]),
                format!("suppliers.{name}.recent_deliveries={}", recent[i]),
                format!("suppliers.{name}.support={}", support[i]),
                format!("suppliers.{name}.availability={}", availability[i]),
                format!("suppliers.{name}.stance_speed={}", speed[i]),
                format!("suppliers.{name}.stance_scale={}", scale[i]),
                format!("suppliers.{name}.delivery_start={}", profile[i].0),
                format!("suppliers.{name}.delivery_quarters={}", profile[i].1),
            ]);
        }
        let text = fixture("minimal_v2.toml");
        let text = text.split("[[events]]").next().unwrap();
        let scenario = load_str(text, "prop", "minimal_v2.toml", &overrides).unwrap().scenario;
        let mut checks = Checks {
            delta: scenario.buyer()[BuyerParam::Depreciation],
            max_discount: scenario.suppliers().iter().map(|s| s.params()[SupplierParam::MaxDiscount]).collect(),
            stocks: stock.to_vec(),
            expected_mode: expected,
            anyone_available: true,
            failure: None,
        };
        // The order book is conserved: what is on order grows by the
        // quarter's orders and shrinks by its deliveries (nobody is
        // unavailable here, so nothing is cancelled).
        let mut backlog: Option<Vec<f64>> = None;
        let mut conserved = None;
        let mut embargoed = false;
        Simulator::new(&scenario).run(&mut run_rng(seed, run), &mut |v: &QuarterView<'_>| {
            checks.check(v);
            // An embargo cancels the deliveries of suppliers that comply with it.
            embargoed |= v.embargo;
            if embargoed {
                return;
            }
            if let Some(before) = &backlog {
                for (i, &was) in before.iter().enumerate() {
                    let expected = was + v.orders[i] - v.deliveries[i];
                    if !close(v.backlog[i], expected.max(0.0), was + v.orders[i]) {
                        conserved.get_or_insert(format!("quarter {}: backlog {} != {expected}", v.quarter, v.backlog[i]));
                    }
                }
            }
            backlog = Some(v.backlog.to_vec());
        });
        prop_assert!(checks.failure.is_none(), "{}", checks.failure.unwrap_or_default());
        prop_assert!(conserved.is_none(), "{}", conserved.unwrap_or_default());
    }
}
