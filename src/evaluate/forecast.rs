//! The model's forecast of a case: each supplier group's share of the
//! deliveries in each window, run by run.
//!
//! Run `k` of a case draws from `run_rng(seed, k)` and simulates the case's
//! scenario with run `k`'s parameters ([`Variants`]: one scenario for every
//! run, or one per run when the parameters are a posterior sample). A run
//! records only its windows' deliveries per group, so a forecast costs one
//! plain simulation per run and a few numbers of memory.

use std::ops::Range;

use super::case::Window;
use crate::engine::{QuarterView, Simulator, run_rng};
use crate::model::Scenario;

/// The scenarios a case's runs simulate: the same for every run, or run
/// `k`'s own (a posterior particle's parameters).
#[derive(Debug, Clone)]
pub enum Variants {
    /// Every run simulates this scenario.
    One(Box<Scenario>),
    /// Run `k` simulates `scenarios[k % len]`.
    PerRun(Vec<Scenario>),
}

impl Variants {
    fn for_run(&self, k: u64) -> &Scenario {
        match self {
            Variants::One(s) => s,
            Variants::PerRun(list) => &list[(k % list.len() as u64) as usize],
        }
    }

    /// The scenario of run 0 (the one that names the case).
    pub fn first(&self) -> &Scenario {
        self.for_run(0)
    }
}

/// Deliveries per window and group of one run: `tiv[w][g]`.
pub type RunDeliveries = Vec<Vec<f64>>;

/// The quarters (0-based, from the scenario's start) of a window's years.
pub fn window_quarters(scenario: &Scenario, window: &Window) -> Range<u32> {
    let start = scenario.start();
    let first = i64::from(window.years.first() - start.year) * 4 - i64::from(start.q - 1);
    let last = i64::from(window.years.last() - start.year) * 4 + 3 - i64::from(start.q - 1);
    let clamp = |q: i64| q.clamp(0, i64::from(scenario.quarters())) as u32;
    clamp(first)..clamp(last + 1)
}

/// Simulates runs `runs` of a case, each run's deliveries in `windows` per
/// supplier group; run `k` draws from `run_rng(seed, k)`.
pub fn simulate(
    variants: &Variants,
    windows: &[Window],
    seed: u64,
    runs: Range<u64>,
) -> Vec<RunDeliveries> {
    let groups = variants.first().suppliers().len();
    // One scenario for every run: one simulator, its buffers reused.
    let mut shared = match variants {
        Variants::One(s) => Some(Simulator::new(s)),
        Variants::PerRun(_) => None,
    };
    runs.map(|k| {
        let scenario = variants.for_run(k);
        let ranges: Vec<Range<u32>> = windows
            .iter()
            .map(|w| window_quarters(scenario, w))
            .collect();
        let mut own;
        let sim = match shared.as_mut() {
            Some(sim) => sim,
            None => {
                own = Simulator::new(scenario);
                &mut own
            }
        };
        let mut tiv = vec![vec![0.0; groups]; windows.len()];
        let mut rng = run_rng(seed, k);
        sim.run(&mut rng, &mut |v: &QuarterView<'_>| {
            for (w, range) in ranges.iter().enumerate() {
                if range.contains(&v.quarter) {
                    for (sum, d) in tiv[w].iter_mut().zip(v.deliveries) {
                        *sum += d;
                    }
                }
            }
        });
        tiv
    })
    .collect()
}

/// Each group's share of a run's window deliveries; NaN for every group if
/// nothing was delivered in the window.
pub fn shares(tiv: &[f64]) -> Vec<f64> {
    let total: f64 = tiv.iter().sum();
    tiv.iter()
        .map(|d| if total > 0.0 { d / total } else { f64::NAN })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Years;
    use crate::evaluate::case::WindowKind;
    use crate::scenario::load_baseline;

    #[test]
    fn window_quarters_are_the_years_quarters() {
        // The baseline starts in 2021Q1 and runs 40 quarters.
        let s = load_baseline(&[]).unwrap().scenario;
        let w = |a, b| Window {
            kind: WindowKind::Early,
            years: Years::new(a, b).unwrap(),
        };
        assert_eq!(window_quarters(&s, &w(2021, 2021)), 0..4);
        assert_eq!(window_quarters(&s, &w(2022, 2026)), 4..24);
        assert_eq!(window_quarters(&s, &w(2030, 2031)), 36..40);
        // Thailand 2014 starts in 2014Q2: that year has three quarters.
        let late = crate::scenario::load_shipped("thailand_2014", &[])
            .unwrap()
            .unwrap()
            .scenario;
        assert_eq!(window_quarters(&late, &w(2014, 2014)), 0..3);
        assert_eq!(window_quarters(&late, &w(2015, 2015)), 3..7);
    }

    #[test]
    fn a_runs_window_sums_are_its_deliveries_and_replay() {
        let s = load_baseline(&["run.quarters=12".into()]).unwrap().scenario;
        let windows = [
            Window {
                kind: WindowKind::ShockYear,
                years: Years::new(2021, 2021).unwrap(),
            },
            Window {
                kind: WindowKind::Early,
                years: Years::new(2022, 2023).unwrap(),
            },
        ];
        let variants = Variants::One(Box::new(s.clone()));
        let runs = simulate(&variants, &windows, 7, 0..3);
        // By hand, run 1: its deliveries over quarters 0-3 and 4-11.
        let mut sim = Simulator::new(&s);
        let mut rng = run_rng(7, 1);
        let mut first = vec![0.0; 4];
        let mut second = vec![0.0; 4];
        sim.run(&mut rng, &mut |v: &QuarterView<'_>| {
            let into = if v.quarter < 4 {
                &mut first
            } else {
                &mut second
            };
            for (a, d) in into.iter_mut().zip(v.deliveries) {
                *a += d;
            }
        });
        assert_eq!(runs[1], vec![first, second]);
        // A split of the runs gives the same bits.
        let split: Vec<_> = [0..1, 1..3]
            .into_iter()
            .flat_map(|r| simulate(&variants, &windows, 7, r))
            .collect();
        assert_eq!(split, runs);
        let sh = shares(&runs[0][1]);
        assert!((sh.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(shares(&[0.0, 0.0]).iter().all(|x| x.is_nan()));
    }
}
