//! What users wait for, on the shipped baselines (4 suppliers, 40 quarters,
//! contracts mode): one quarter's step, one run folded into a summary, a
//! 10,000-run ensemble on all cores (model v2, and v1 for comparison), and a
//! paired comparison of 5,000 runs with common random numbers. `armsim bench`
//! prints the ensemble figures as runs per second with peak memory.

use std::hint::black_box;

use armsim::engine::{Simulator, run_rng};
use armsim::experiment::compare::Comparison;
use armsim::scenario::{load_baseline, load_shipped};
use armsim::study::Study;
use armsim::summary::Recorder;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn baseline(c: &mut Criterion) {
    let scenario = load_baseline(&[]).unwrap().scenario;

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    let mut sim = Simulator::new(&scenario);
    let mut rng = run_rng(scenario.seed(), 0);
    sim.reset(&mut rng);
    let mut t = 0;
    group.bench_function("quarter step", |b| {
        b.iter(|| {
            if t == scenario.quarters() {
                sim.reset(&mut rng);
                t = 0;
            }
            t += 1;
            black_box(sim.step(&mut rng).hhi)
        })
    });

    let mut sim = Simulator::new(&scenario);
    let mut recorder = Recorder::new(&scenario);
    let mut k = 0;
    group.bench_function("one run into a recorder", |b| {
        b.iter(|| {
            k += 1;
            sim.run(&mut run_rng(scenario.seed(), k), &mut recorder);
        })
    });

    let runs = 10_000;
    group.throughput(Throughput::Elements(runs));
    group.sample_size(20);
    let ensemble = load_baseline(&[format!("run.runs={runs}")])
        .unwrap()
        .scenario;
    group.bench_function("10000-run ensemble, all cores", |b| {
        b.iter(|| black_box(Study::new(&ensemble).run().unwrap().summary.runs()))
    });
    let v1 = load_shipped("myanmar_2021_v1", &[format!("run.runs={runs}")])
        .unwrap()
        .unwrap()
        .scenario;
    group.bench_function("10000-run ensemble, all cores, model v1", |b| {
        b.iter(|| black_box(Study::new(&v1).run().unwrap().summary.runs()))
    });

    let pairs = 5_000;
    group.throughput(Throughput::Elements(pairs));
    let a = load_baseline(&[format!("run.runs={pairs}")])
        .unwrap()
        .scenario;
    let b = load_baseline(&[
        format!("run.runs={pairs}"),
        "suppliers.Russia.support=0".into(),
        "suppliers.Russia.hold_support=true".into(),
    ])
    .unwrap()
    .scenario;
    group.bench_function("5000-pair comparison, all cores", |bench| {
        bench.iter(|| black_box(Comparison::new(&a, &b).unwrap().run().unwrap().paired.runs))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Text reports only: criterion's HTML plots need system fonts, and this
    // crate's plotters is built to use only the font it bundles.
    config = Criterion::default().without_plots();
    targets = baseline
}
criterion_main!(benches);
