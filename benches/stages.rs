//! A study's cost, stage by stage, on the shipped baseline (model v3, 4
//! suppliers, 40 quarters, 3 compared pairs), so that a regression shows
//! which stage moved: the engine alone (a run's 40 quarter steps, nothing recorded;
//! and two runs stepped together, as a study steps them),
//! recording alone (a run's 40 quarters, captured once, folded into a
//! `Recorder`), and merging (a worker's recorder drained into a study's
//! summary, and two whole summaries merged). `throughput.rs` measures what
//! users wait for, end to end.

use std::hint::black_box;

use armsim::engine::{Observer, QuarterView, Simulator, run_rng};
use armsim::scenario::load_baseline;
use armsim::study::Study;
use armsim::summary::{Recorder, Summary};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// A quarter's view, owned, so recording can be measured without the engine.
struct Captured {
    quarter: u32,
    unrest: f64,
    pressure: f64,
    embargo: bool,
    budget: f64,
    orders: Vec<f64>,
    total_orders: f64,
    deliveries: Vec<f64>,
    imports: f64,
    backlog: Vec<f64>,
    outside: f64,
    rolling_share: Vec<f64>,
    rolling_defined: bool,
    stocks: Vec<f64>,
    base_share: Vec<f64>,
    base_defined: bool,
    hhi: f64,
    support: Vec<f64>,
    discount: Vec<f64>,
}

impl Captured {
    fn of(v: &QuarterView<'_>) -> Self {
        Captured {
            quarter: v.quarter,
            unrest: v.unrest,
            pressure: v.pressure,
            embargo: v.embargo,
            budget: v.budget,
            orders: v.orders.to_vec(),
            total_orders: v.total_orders,
            deliveries: v.deliveries.to_vec(),
            imports: v.imports,
            backlog: v.backlog.to_vec(),
            outside: v.outside,
            rolling_share: v.rolling_share.to_vec(),
            rolling_defined: v.rolling_defined,
            stocks: v.stocks.to_vec(),
            base_share: v.base_share.to_vec(),
            base_defined: v.base_defined,
            hhi: v.hhi,
            support: v.support.to_vec(),
            discount: v.discount.to_vec(),
        }
    }

    fn view(&self) -> QuarterView<'_> {
        QuarterView {
            quarter: self.quarter,
            unrest: self.unrest,
            pressure: self.pressure,
            embargo: self.embargo,
            budget: self.budget,
            orders: &self.orders,
            total_orders: self.total_orders,
            deliveries: &self.deliveries,
            imports: self.imports,
            backlog: &self.backlog,
            outside: self.outside,
            rolling_share: &self.rolling_share,
            rolling_defined: self.rolling_defined,
            stocks: &self.stocks,
            base_share: &self.base_share,
            base_defined: self.base_defined,
            hhi: self.hhi,
            support: &self.support,
            discount: &self.discount,
        }
    }
}

fn stages(c: &mut Criterion) {
    let scenario = load_baseline(&[]).unwrap().scenario;
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Elements(1));

    // Engine: one run, its quarters handed to an observer that keeps nothing.
    let mut sim = Simulator::new(&scenario);
    let mut k = 0;
    group.bench_function("engine: one run", |b| {
        b.iter(|| {
            k += 1;
            let mut last = 0.0;
            sim.run(&mut run_rng(scenario.seed(), k), &mut |v: &QuarterView<
                '_,
            >| {
                last = v.hhi
            });
            black_box(last)
        })
    });

    // Engine: two runs stepped together, as studies step them (per run).
    let mut second = Simulator::new(&scenario);
    group.throughput(Throughput::Elements(2));
    group.bench_function("engine: two runs stepped together", |b| {
        b.iter(|| {
            k += 2;
            let mut last = 0.0;
            Simulator::run_two(
                &mut sim,
                &mut second,
                &mut run_rng(scenario.seed(), k - 1),
                &mut run_rng(scenario.seed(), k),
                &mut |a: &QuarterView<'_>, b: &QuarterView<'_>| last = a.hhi + b.hhi,
            );
            black_box(last)
        })
    });
    group.throughput(Throughput::Elements(1));

    // Recording: 256 captured runs replayed in turn into one recorder (its
    // batches fill and fold as in a study).
    let captured: Vec<Vec<Captured>> = (0..256)
        .map(|k| {
            let mut run = Vec::new();
            sim.run(&mut run_rng(scenario.seed(), k), &mut |v: &QuarterView<
                '_,
            >| {
                run.push(Captured::of(v))
            });
            run
        })
        .collect();
    let mut recorder = Recorder::new(&scenario);
    let mut total = Summary::new(&scenario);
    let mut next = 0;
    let mut recorded = 0u64;
    group.bench_function("recording: one run", |b| {
        b.iter(|| {
            for quarter in &captured[next] {
                recorder.observe(&quarter.view());
            }
            next = (next + 1) % captured.len();
            recorded += 1;
            // Drained well before its 16-bit counters could fill.
            if recorded.is_multiple_of(32_768) {
                recorder.drain_into(&mut total);
            }
        })
    });

    // Merging: a worker's recorder after 2,048 runs (a round) drained into a
    // study's summary; and two summaries of 10,000 runs merged.
    group.bench_function("merge: drain a 2048-run recorder", |b| {
        b.iter_batched_ref(
            || {
                let mut recorder = Recorder::new(&scenario);
                let mut sim = Simulator::new(&scenario);
                for k in 0..2048 {
                    sim.run(&mut run_rng(scenario.seed(), k), &mut recorder);
                }
                (recorder, Summary::new(&scenario))
            },
            |(recorder, total)| recorder.drain_into(total),
            BatchSize::LargeInput,
        )
    });
    let study = |range| {
        Study::new(&scenario)
            .runs(range)
            .threads(1)
            .run()
            .unwrap()
            .summary
    };
    let (first, second) = (study(0..10_000), study(10_000..20_000));
    group.bench_function("merge: two study summaries", |b| {
        b.iter_batched_ref(
            || first.clone(),
            |merged| merged.merge(&second),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Text reports only, as in throughput.rs.
    config = Criterion::default().without_plots();
    targets = stages
}
criterion_main!(benches);
