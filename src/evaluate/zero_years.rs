//! Zero years: how lumpy the model's deliveries are, against the record.
//!
//! SIPRI's record of single years is lumpy: a supplier that sold every year
//! before a shock often delivers nothing in one year and a great deal in
//! the next, because an order arrives in a few batches. Share scores over
//! five-year windows cannot see this, so the evaluation checks it apart:
//! for every supplier group *active* before a case's shock (a delivery
//! recorded in at least one of the five years before it) and every whole
//! year from the shock year to `+7` that the record and the simulation
//! both cover, the chance the model gives that the group delivers nothing
//! that year (under 0.5 TIV million: SIPRI's figures are whole millions, so
//! a recorded 0 is under 0.5) against whether the record shows nothing.
//!
//! The check is a Brier score (mean squared difference of that chance and
//! the 0/1 outcome; lower is better) beside a naive forecast's (the
//! group's share of zero years among the five before the shock), and the
//! counts of zero years expected and observed. Too few expected zeros
//! means deliveries too smooth, too many means too lumpy; the contracts'
//! number a quarter (`contracts_per_quarter`) sets it most directly
//! (docs/model.md).

use super::case::{Case, Window, WindowKind};
use crate::data::Years;

/// Last year after the shock year the check reaches.
pub const LAST_OFFSET: i32 = 7;

/// Below this many TIV millions a year counts as no delivery.
pub const ZERO_BELOW: f64 = 0.5;

/// One case, group and year of the check.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroYearRow {
    /// The case's id.
    pub case: String,
    /// The year.
    pub year: i32,
    /// The supplier group.
    pub supplier: String,
    /// Whether the record shows no delivery that year.
    pub observed_zero: bool,
    /// The share of the model's runs with no delivery that year.
    pub model: f64,
    /// The naive forecast: the group's share of zero years among the five
    /// before the shock.
    pub before: f64,
}

/// The check over many rows: counts and Brier scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZeroYearSummary {
    /// Group-years checked.
    pub rows: usize,
    /// Of them, the years the record shows no delivery.
    pub observed: usize,
    /// The model's expected count of such years (sum of its chances).
    pub expected: f64,
    /// The model's Brier score.
    pub brier: f64,
    /// The naive forecast's Brier score.
    pub brier_before: f64,
}

impl ZeroYearSummary {
    /// The summary of `rows`; `None` if there are none.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a ZeroYearRow>) -> Option<ZeroYearSummary> {
        let mut s = ZeroYearSummary {
            rows: 0,
            observed: 0,
            expected: 0.0,
            brier: 0.0,
            brier_before: 0.0,
        };
        for r in rows {
            let y = f64::from(u8::from(r.observed_zero));
            s.rows += 1;
            s.observed += usize::from(r.observed_zero);
            s.expected += r.model;
            s.brier += (r.model - y).powi(2);
            s.brier_before += (r.before - y).powi(2);
        }
        (s.rows > 0).then(|| {
            let n = s.rows as f64;
            s.brier /= n;
            s.brier_before /= n;
            s
        })
    }

    /// `1 - brier / brier_before`: above 0 where the model tells zero
    /// years better than the naive forecast.
    pub fn skill(&self) -> f64 {
        super::score::skill(self.brier, self.brier_before)
    }
}

/// The one-year windows a case is checked on: from the shock year to
/// `+7`, within the record and the simulated whole years.
pub fn years(case: &Case) -> Vec<Window> {
    // A year is simulated whole only from the first that starts in Q1.
    let start = case.loaded.scenario.start();
    let first = case.shock_year().max(start.year + i32::from(start.q != 1));
    let last = (case.shock_year() + LAST_OFFSET)
        .min(case.observed_until)
        .min(case.last_simulated_year());
    (first..=last)
        .filter_map(|y| Years::new(y, y).ok())
        .map(|years| Window {
            kind: WindowKind::ShockYear,
            years,
        })
        .collect()
}

/// The rows of one case: `runs[k][w][g]` are run `k`'s deliveries to group
/// `g` in `windows[w]`, the windows of [`years`] (each run's slice of the
/// years it delivered in, so nothing is copied).
pub fn rows(case: &Case, windows: &[Window], runs: &[&[Vec<f64>]]) -> Vec<ZeroYearRow> {
    let before = case.before();
    let mut out = Vec::new();
    if runs.is_empty() {
        return out;
    }
    for (g, supplier) in case.groups().iter().enumerate() {
        let zeros_before = (before.first()..=before.last())
            .filter(|&y| case.record.tiv(y, g) < ZERO_BELOW)
            .count();
        if zeros_before == before.len() {
            continue; // not active before the shock
        }
        for (w, window) in windows.iter().enumerate() {
            let year = window.years.first();
            let model_zeros = runs.iter().filter(|r| r[w][g] < ZERO_BELOW).count();
            out.push(ZeroYearRow {
                case: case.id().to_string(),
                year,
                supplier: supplier.clone(),
                observed_zero: case.record.tiv(year, g) < ZERO_BELOW,
                model: model_zeros as f64 / runs.len() as f64,
                before: zeros_before as f64 / before.len() as f64,
            });
        }
    }
    out
}

/// The contracts' number a quarter ([`CONTRACTS_PATH`]) the check is fitted
/// over: leave one case out, each fold takes the value of this grid with
/// the lowest Brier score on the other cases' zero years.
pub const CONTRACTS_GRID: [f64; 10] = [0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5];

/// The parameter fitted to zero years.
pub const CONTRACTS_PATH: &str = "buyer.contracts_per_quarter";

/// Each case's zero-year check at each value of a grid of the contracts'
/// number a quarter: what a fold needs to pick its value without its case.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractsFit {
    /// The grid.
    pub grid: Vec<f64>,
    /// `squared[v][c]`: case `c`'s summed squared error at `grid[v]`, and
    /// its number of rows.
    pub squared: Vec<Vec<(f64, usize)>>,
}

impl ContractsFit {
    /// From each grid value's rows (`rows[v]`), for `cases` (by id).
    pub fn new(grid: Vec<f64>, cases: &[&str], rows: &[Vec<ZeroYearRow>]) -> ContractsFit {
        let squared = rows
            .iter()
            .map(|rows| {
                cases
                    .iter()
                    .map(|id| {
                        rows.iter()
                            .filter(|r| r.case == *id)
                            .fold((0.0, 0), |(e, n), r| {
                                let y = f64::from(u8::from(r.observed_zero));
                                (e + (r.model - y).powi(2), n + 1)
                            })
                    })
                    .collect()
            })
            .collect();
        ContractsFit { grid, squared }
    }

    /// The grid value with the lowest Brier score over every case but
    /// `left_out` (over all of them for `None`); the smaller value on a tie,
    /// `None` if no case but the left-out one has a row.
    pub fn best_without(&self, left_out: Option<usize>) -> Option<f64> {
        let brier = |per_case: &Vec<(f64, usize)>| {
            let (e, n) = per_case
                .iter()
                .enumerate()
                .filter(|(c, _)| Some(*c) != left_out)
                .fold((0.0, 0), |(e, n), (_, &(ec, nc))| (e + ec, n + nc));
            (n > 0).then(|| e / n as f64)
        };
        let mut best: Option<(f64, f64)> = None;
        for (v, per_case) in self.grid.iter().zip(&self.squared) {
            let b = brier(per_case)?;
            if best.is_none_or(|(_, lowest)| b < lowest) {
                best = Some((*v, b));
            }
        }
        best.map(|(v, _)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(observed_zero: bool, model: f64, before: f64) -> ZeroYearRow {
        ZeroYearRow {
            case: "c".into(),
            year: 2000,
            supplier: "s".into(),
            observed_zero,
            model,
            before,
        }
    }

    #[test]
    fn the_summary_counts_and_scores_each_row() {
        let rows = [row(true, 0.5, 0.0), row(false, 0.25, 0.2)];
        let s = ZeroYearSummary::of(&rows).unwrap();
        assert_eq!((s.rows, s.observed), (2, 1));
        assert!((s.expected - 0.75).abs() < 1e-15);
        assert!((s.brier - (0.25 + 0.0625) / 2.0).abs() < 1e-15);
        assert!((s.brier_before - (1.0 + 0.04) / 2.0).abs() < 1e-15);
        assert!(s.skill() > 0.0);
        assert_eq!(ZeroYearSummary::of(&[]), None);
    }

    #[test]
    fn a_fold_picks_the_value_best_on_the_other_cases() {
        // Two cases, three values: case 0 is best at 1.0, case 1 at 0.5;
        // together (case 1 has more rows) 0.5 wins.
        let fit = ContractsFit {
            grid: vec![0.5, 1.0, 1.5],
            squared: vec![
                vec![(3.0, 10), (1.0, 20)],
                vec![(1.0, 10), (4.0, 20)],
                vec![(2.0, 10), (6.0, 20)],
            ],
        };
        assert_eq!(fit.best_without(None), Some(0.5));
        assert_eq!(fit.best_without(Some(1)), Some(1.0));
        assert_eq!(fit.best_without(Some(0)), Some(0.5));
        // A tie goes to the smaller value; no rows left, no value.
        let tie = ContractsFit {
            grid: vec![0.5, 1.0],
            squared: vec![vec![(1.0, 4)], vec![(1.0, 4)]],
        };
        assert_eq!(tie.best_without(None), Some(0.5));
        assert_eq!(tie.best_without(Some(0)), None);
        // Built from rows: squared errors summed per case.
        let rows = vec![vec![row(true, 0.5, 0.0), row(false, 0.5, 0.0)]];
        let built = ContractsFit::new(vec![1.0], &["c", "d"], &rows);
        assert_eq!(built.squared, vec![vec![(0.5, 2), (0.0, 0)]]);
    }

    #[test]
    fn a_case_that_starts_inside_a_year_is_checked_from_the_next() {
        let overrides = [
            "run.start=2014Q2".to_string(),
            "run.quarters=30".to_string(),
        ];
        let path = std::path::Path::new("scenarios/cases/thailand_2014.toml");
        let case = Case::load_with(path, &overrides).unwrap();
        let windows = years(&case);
        assert_eq!(windows.first().unwrap().years.first(), 2015);
    }

    #[test]
    fn a_case_is_checked_on_its_active_groups_and_whole_years() {
        let case = Case::load(std::path::Path::new("scenarios/cases/thailand_2014.toml")).unwrap();
        let windows = years(&case);
        assert_eq!(windows.first().unwrap().years.first(), 2014);
        assert_eq!(windows.last().unwrap().years.last(), 2021);
        // Two runs: one delivers nothing anywhere, one 1 TIV everywhere.
        let groups = case.groups().len();
        let nothing = vec![vec![0.0; groups]; windows.len()];
        let one_each = vec![vec![1.0; groups]; windows.len()];
        let rows = rows(&case, &windows, &[&nothing, &one_each]);
        assert_eq!(rows.len(), groups * windows.len(), "every group was active");
        assert!(rows.iter().all(|r| r.model == 0.5));
        let china_2014 = rows
            .iter()
            .find(|r| r.supplier == "China" && r.year == 2014)
            .unwrap();
        assert!(!china_2014.observed_zero, "China delivered 7 in 2014");
    }
}
