//! What users wait for, on the shipped baseline (4 suppliers, 40 quarters,
//! contracts mode): one quarter's step, one run folded into a summary, and a
//! 10,000-run ensemble on all cores. `armsim bench` prints the same figures
//! as runs per second with peak memory.

use std::hint::black_box;

use armsim::engine::{Simulator, run_rng};
use armsim::scenario::load_baseline;
use armsim::study::Study;
use armsim::summary::Recorder;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn baseline(c: &mut Criterion) {
    let scenario = load_baseline(&[]).unwrap().scenario;

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    let mut sim = Simulator::new(&scenario);
    let mut rng = run_rng(scenario.seed(), 0);
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
