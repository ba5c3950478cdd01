//! The baseline's mechanisms do what docs/model.md says (the baseline runs
//! model v3; its v3 mechanisms have their own tests in `src/engine/v2.rs`),
//! and every behavioural parameter of the baseline moves some headline
//! outcome at its documented range, or is listed in docs/model.md with the
//! reason it does not.

use armsim::engine::{QuarterView, Simulator, run_rng};
use armsim::experiment::compare::Comparison;
use armsim::experiment::outcome::Outcome;
use armsim::metrics::{Entity, MetricId};
use armsim::model::{BuyerParam, Param, Scenario, SupplierParam, Target, WorldParam};
use armsim::scenario::{load_baseline, load_shipped};
use armsim::study::Study;

use super::root;

fn baseline(overrides: &[&str]) -> Scenario {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_baseline(&overrides).unwrap().scenario
}

/// Parameters that move no headline outcome at the baseline's values, with
/// the reason (docs/model.md section 10 lists them). The test fails if one
/// of these becomes live (the list and the docs are then stale) or if a
/// parameter not listed here is inert.
const INERT: &[(&str, &str)] = &[
    (
        "suppliers.Russia.stance_scale",
        "Russia's stance stays within a point of 1: its slope is positive unless unrest passes 0.85, which it rarely does, so how fast it would move matters little",
    ),
    (
        "suppliers.Others.export_pressure",
        "Others' discount creeps to under 0.1 points by 2030: export pressure scales its tiny payoff slope without changing its sign",
    ),
    (
        "suppliers.Others.strategic_value",
        "Others' stance stays at 0 (it condemned the coup)",
    ),
    (
        "suppliers.Others.influence_appetite",
        "Others' stance stays at 0 (it condemned the coup)",
    ),
    (
        "suppliers.Others.detach_threshold",
        "Others' stance stays at 0 (it condemned the coup)",
    ),
    (
        "suppliers.Others.spillover",
        "Others' stance stays at 0 (it condemned the coup)",
    ),
    (
        "suppliers.India.veto",
        "no veto, or a veto with zero propensity",
    ),
    (
        "suppliers.India.veto_propensity",
        "no veto, or a veto with zero propensity",
    ),
    (
        "suppliers.India.veto_slope",
        "no veto, or a veto with zero propensity",
    ),
    (
        "suppliers.Others.veto",
        "no veto, or a veto with zero propensity",
    ),
    (
        "suppliers.Others.veto_propensity",
        "no veto, or a veto with zero propensity",
    ),
    (
        "suppliers.Others.veto_slope",
        "no veto, or a veto with zero propensity",
    ),
    (
        "suppliers.Russia.embargo_compliance",
        "an embargo is rare at the baseline",
    ),
    (
        "suppliers.China.embargo_compliance",
        "an embargo is rare at the baseline",
    ),
    (
        "suppliers.India.embargo_compliance",
        "an embargo is rare at the baseline",
    ),
    (
        "suppliers.Others.embargo_compliance",
        "an embargo is rare at the baseline",
    ),
    (
        "buyer.budget_volatility",
        "mean-preserving noise: moves the spread, not the means",
    ),
    (
        "buyer.contracts_per_quarter",
        "mean-preserving lumpiness: moves the spread, not the means",
    ),
    (
        "suppliers.Russia.cancel_held",
        "nothing is ever held at the baseline: no suspension is set, and availability reaches 0 only for Others under an embargo, which is rare",
    ),
    (
        "suppliers.China.cancel_held",
        "nothing is ever held at the baseline: no suspension is set, and availability reaches 0 only for Others under an embargo, which is rare",
    ),
    (
        "suppliers.India.cancel_held",
        "nothing is ever held at the baseline: no suspension is set, and availability reaches 0 only for Others under an embargo, which is rare",
    ),
    (
        "suppliers.Others.cancel_held",
        "nothing is ever held at the baseline: no suspension is set, and availability reaches 0 only for Others under an embargo, which is rare",
    ),
    (
        "suppliers.Others.unit_cost",
        "Others' stance stays at 0 (it condemned the coup) and v3 sets no discount, so its margin moves nothing",
    ),
    (
        "suppliers.Others.stance_cost",
        "Others' stance stays at 0 (it condemned the coup)",
    ),
];

/// Standard errors a paired mean difference must exceed to count as a move.
/// Runs use common random numbers, so an inert parameter gives exactly zero
/// difference and no threshold can make it look live by chance; the test is
/// deterministic (fixed seed).
const NOISE: f64 = 3.0;

/// The headline outcomes of issue 7: 2021-22 delivery shares, 2026-30
/// rolling shares, 2030 support, and whether an embargo was ever in force.
fn headline_outcomes(s: &Scenario) -> Vec<Outcome> {
    let mut texts = Vec::new();
    for sup in s.suppliers() {
        let n = sup.name();
        texts.push(format!("share:deliveries:{n}@2021..2022"));
        texts.push(format!("mean:rolling_share:{n}@2026..2030"));
        texts.push(format!("support:{n}@2030Q4"));
    }
    texts.push("max:embargo:world@start..end".into());
    texts
        .iter()
        .map(|t| Outcome::parse(t, s).unwrap())
        .collect()
}

/// Every parameter of the baseline's model that an experiment could vary.
fn behavioural_targets(s: &Scenario) -> Vec<Target> {
    let model = s.model();
    let mut targets: Vec<Target> = WorldParam::ALL
        .iter()
        .filter(|p| p.models().includes(model))
        .map(|&p| Target::World(p))
        .collect();
    targets.extend(
        BuyerParam::ALL
            .iter()
            .filter(|p| p.models().includes(model))
            .map(|&p| Target::Buyer(p)),
    );
    for i in 0..s.suppliers().len() {
        targets.extend(
            SupplierParam::ALL
                .iter()
                .filter(|p| p.models().includes(model))
                .map(|&p| Target::Supplier(i, p)),
        );
    }
    targets
}

/// Whether moving `target` from the low to the high end of its documented
/// range moves some headline outcome by more than Monte Carlo noise: a
/// paired mean difference more than [`NOISE`] standard errors from zero.
fn moves_an_outcome(base: &Scenario, target: Target, runs: u64) -> Result<bool, String> {
    let (lo, hi) = target.range();
    let domain = target.domain();
    let (lo, hi) = (domain.clamp(lo), domain.clamp(hi));
    let (mut a, mut b) = (base.clone(), base.clone());
    // A starting discount is bounded by its maximum: lower it first.
    if target.param_name() == "max_discount"
        && let Target::Supplier(i, _) = target
    {
        a.set_param(Target::Supplier(i, SupplierParam::Discount), 0.0)
            .map_err(|e| e.to_string())?;
        b.set_param(Target::Supplier(i, SupplierParam::Discount), 0.0)
            .map_err(|e| e.to_string())?;
    }
    a.set_param(target, lo).map_err(|e| e.to_string())?;
    b.set_param(target, hi).map_err(|e| e.to_string())?;
    a.set_runs(runs).unwrap();
    let outcomes = headline_outcomes(base);
    let out = Comparison::new(&a, &b)
        .map_err(|e| e.to_string())?
        .outcomes(outcomes)
        .threads(2)
        .run()
        .map_err(|e| e.to_string())?;
    Ok(out.paired.outcomes.iter().any(|m| {
        let c = m.compare(0.95);
        match (c.difference, m.difference.sd(m.outcome.binning().signed())) {
            (Some(d), Some(sd)) if c.n_pairs > 1 => {
                let se = sd / (c.n_pairs as f64).sqrt();
                d.abs() > 1e-9 && d.abs() > NOISE * se
            }
            _ => false,
        }
    }))
}

#[test]
fn every_behavioural_parameter_moves_a_headline_outcome_or_is_documented_as_inert() {
    let base = baseline(&[]);
    let mut inert = Vec::new();
    let mut errors = Vec::new();
    for target in behavioural_targets(&base) {
        let path = base.path_of(target);
        match moves_an_outcome(&base, target, 600) {
            Ok(false) => inert.push(path),
            Ok(true) => {}
            Err(e) => errors.push(format!("{path}: {e}")),
        }
    }
    assert!(errors.is_empty(), "{errors:#?}");
    let listed: Vec<&str> = INERT.iter().map(|(p, _)| *p).collect();
    let undocumented: Vec<&String> = inert
        .iter()
        .filter(|p| !listed.contains(&p.as_str()))
        .collect();
    let now_live: Vec<&&str> = listed
        .iter()
        .filter(|p| !inert.iter().any(|q| q == **p))
        .collect();
    assert!(
        undocumented.is_empty() && now_live.is_empty(),
        "inert but not documented: {undocumented:#?}\nlisted as inert but live: {now_live:#?}"
    );
    let docs = std::fs::read_to_string(root().join("docs/model.md")).unwrap();
    for (path, _) in INERT {
        assert!(
            docs.contains(&format!("`{path}`")),
            "docs/model.md does not list {path}"
        );
    }
}

#[test]
fn russia_detaches_within_four_quarters_once_unrest_passes_its_threshold() {
    // Unrest is pushed towards 0.95 from 2023Q1; Russia's threshold is 0.85.
    let s = baseline(&["run.runs=400"]);
    let text = armsim::scenario::BASELINE_TOML.to_string()
        + "\n[[events]]\nquarter = \"2023Q1\"\nentity = \"world\"\nparam = \"unrest_mean\"\nset = 0.95\n";
    let pushed = armsim::scenario::load_str(&text, "pushed", "pushed", &["run.runs=400".into()])
        .unwrap()
        .scenario;
    let threshold = s.suppliers()[0].params()[SupplierParam::DetachThreshold];
    let (mut crossed, mut detached) = (0, 0);
    let mut slow = true;
    let mut sim = Simulator::new(&pushed);
    for k in 0..pushed.runs() {
        let mut path: Vec<(f64, [f64; 3])> = Vec::new();
        sim.run(&mut run_rng(pushed.seed(), k), &mut |v: &QuarterView<
            '_,
        >| {
            path.push((v.unrest, [v.support[0], v.support[1], v.support[2]]))
        });
        let Some(t) = (8..path.len() - 4).find(|&t| path[t].0 > threshold) else {
            continue;
        };
        crossed += 1;
        if path[t + 1..=t + 4].iter().any(|q| q.1[0] < 0.5) {
            detached += 1;
        }
        // China's and India's stances move at most their speed a quarter.
        for who in [1, 2] {
            slow &= (path[t + 4].1[who] - path[t].1[who]).abs() <= 4.0 * 0.05 + 1e-12;
        }
    }
    eprintln!("Russia detached within 4 quarters in {detached} of {crossed} runs");
    assert!(
        crossed > 200,
        "unrest crossed the threshold in {crossed} runs"
    );
    assert!(
        detached as f64 > 0.6 * crossed as f64,
        "Russia's support fell below 0.5 within 4 quarters in {detached} of {crossed} runs"
    );
    assert!(slow, "China's and India's stances move slowly");
}

#[test]
fn china_delivers_more_than_russia_in_the_first_year_then_russia_surges() {
    let s = baseline(&["run.runs=2000"]);
    let summary = Study::new(&s).threads(2).run().unwrap().summary;
    let total = |i: usize, quarters: std::ops::Range<usize>| -> f64 {
        let m = summary
            .metric(Entity::Supplier(i), MetricId::Deliveries)
            .unwrap();
        quarters.map(|q| summary.stat(q, &m).unwrap().mean).sum()
    };
    let (russia, china) = (0, 1);
    assert!(
        total(china, 0..4) > total(russia, 0..4),
        "2021: the order book starts in steady state"
    );
    assert!(
        total(russia, 4..12) > 2.0 * total(russia, 0..4),
        "2022-23: Russia's backlog and orders arrive"
    );
}

#[test]
fn a_forced_embargo_lowers_total_imports() {
    let base = load_shipped("myanmar_2021", &["run.runs=600".into()])
        .unwrap()
        .unwrap()
        .scenario;
    let embargo = load_shipped("myanmar_2021_un_embargo", &["run.runs=600".into()])
        .unwrap()
        .unwrap()
        .scenario;
    let imports = Outcome::parse("sum:imports:buyer@2022..2030", &base).unwrap();
    let out = Comparison::new(&base, &embargo)
        .unwrap()
        .outcomes(vec![imports])
        .threads(2)
        .run()
        .unwrap();
    let c = out.paired.outcomes[0].compare(0.99);
    let (d, half) = (c.difference.unwrap(), c.paired_half_width.unwrap());
    assert!(d + half < 0.0, "imports change by {d} +- {half}");
}

#[test]
fn the_dependence_penalty_is_zero_below_the_ceiling() {
    // With the ceiling above every committed share, the dependence weight
    // changes nothing at all: the runs are the same bits.
    let text = std::fs::read_to_string(root().join("tests/fixtures/minimal_v2.toml")).unwrap();
    let load = |weight: &str| {
        armsim::scenario::load_str(
            &text,
            "d",
            "d",
            &[
                "buyer.dependence_ceiling=0.99".into(),
                format!("buyer.dependence_weight={weight}"),
            ],
        )
        .unwrap()
        .scenario
    };
    let (a, b) = (load("0"), load("500"));
    let trace = |s: &Scenario| {
        let mut out = Vec::new();
        Simulator::new(s).run(&mut run_rng(3, 9), &mut |v: &QuarterView<'_>| {
            out.push((v.orders.to_vec(), v.support.to_vec()))
        });
        out
    };
    assert_eq!(trace(&a), trace(&b));
    // And above the ceiling it bites.
    let c = armsim::scenario::load_str(
        &text,
        "d",
        "d",
        &[
            "buyer.dependence_ceiling=0.1".into(),
            "buyer.dependence_weight=500".into(),
        ],
    )
    .unwrap()
    .scenario;
    assert_ne!(trace(&a), trace(&c));
}

#[test]
fn every_parameter_is_documented_in_the_model_page() {
    let docs = std::fs::read_to_string(root().join("docs/model.md")).unwrap();
    let (current, v1) = docs.split_once("## Appendix A").unwrap();
    let mut missing = Vec::new();
    let mut check = |name: &str, models: armsim::model::Models| {
        use armsim::model::ModelVersion::{V1, V2, V3};
        for (version, text) in [(V3, current), (V2, current), (V1, v1)] {
            if models.includes(version)
                && !text.contains(&format!("`{name}`"))
                && !text.contains(&format!(".{name}`"))
            {
                missing.push(format!("{name} ({version})"));
            }
        }
    };
    for &p in WorldParam::ALL {
        check(p.name(), p.models());
    }
    for &p in BuyerParam::ALL {
        check(p.name(), p.models());
    }
    for &p in SupplierParam::ALL {
        check(p.name(), p.models());
    }
    assert!(
        missing.is_empty(),
        "not documented in docs/model.md: {missing:?}"
    );
}
