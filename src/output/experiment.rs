//! Tables of experiments: a comparison's outcomes, a sweep's points, a
//! sensitivity analysis's indices, as CSV that pandas, polars and R read
//! directly. Each writer takes any `Write` and returns its I/O errors; the
//! directory a table goes into, and its plots, are written by the commands.

use std::io::{self, Write};

use super::format_number;
use crate::experiment::compare::PairedMoments;
use crate::experiment::outcome::Outcome;
use crate::experiment::points::PointResult;
use crate::experiment::sweep::{Indices, Plan};

fn number(x: Option<f64>) -> String {
    x.map(format_number).unwrap_or_default()
}

/// Header of a comparison's `outcomes.csv`.
pub const COMPARE_HEADER: &str = "outcome,n_a,mean_a,n_b,mean_b,n_pairs,difference,ci_low,ci_high,independent_ci_low,independent_ci_high,level";

/// Writes a comparison's outcome table: per outcome the means in A and B,
/// the mean paired difference B - A with its confidence interval at `level`,
/// and the interval independent runs would have given.
///
/// # Errors
/// Any write error of `out`.
pub fn write_compare_csv(
    out: impl Write,
    outcomes: &[PairedMoments],
    level: f64,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COMPARE_HEADER.split(','))?;
    for m in outcomes {
        let c = m.compare(level);
        let interval = |half: Option<f64>| match (c.difference, half) {
            (Some(d), Some(h)) => (Some(d - h), Some(d + h)),
            _ => (None, None),
        };
        let (lo, hi) = interval(c.paired_half_width);
        let (ilo, ihi) = interval(c.independent_half_width);
        w.write_record([
            m.outcome.to_string(),
            c.n_a.to_string(),
            number(c.a),
            c.n_b.to_string(),
            number(c.b),
            c.n_pairs.to_string(),
            number(c.difference),
            number(lo),
            number(hi),
            number(ilo),
            number(ihi),
            format_number(level),
        ])?;
    }
    w.flush()
}

/// Writes `sweep.csv`: one row per design point and outcome, with the
/// point's parameter values (one column per varied parameter, named by its
/// path) and the outcome's runs, mean, sd and percentiles.
///
/// # Errors
/// Any write error of `out`.
pub fn write_sweep_csv(
    out: impl Write,
    plan: &Plan,
    outcomes: &[Outcome],
    results: &[PointResult],
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["point".to_string()];
    header.extend(plan.vary().iter().map(|v| v.path.clone()));
    header.extend(
        [
            "outcome", "n", "mean", "sd", "p05", "p25", "p50", "p75", "p95",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    for r in results {
        let values = plan.design().point(r.point).unwrap_or_default();
        for (outcome, stats) in outcomes.iter().zip(&r.outcomes) {
            let mut row = vec![r.point.to_string()];
            row.extend(values.iter().map(|&x| format_number(x)));
            row.push(outcome.to_string());
            row.push(stats.n.to_string());
            row.push(number(stats.mean));
            row.push(number(stats.sd));
            match stats.percentiles {
                Some(p) => row.extend(p.iter().map(|&x| format_number(x))),
                None => row.extend(std::iter::repeat_n(String::new(), 5)),
            }
            w.write_record(&row)?;
        }
    }
    w.flush()
}

/// Header of a sensitivity analysis's `indices.csv`.
pub const INDICES_HEADER: &str = "outcome,parameter,index,value,ci_low,ci_high";

/// Writes a sensitivity analysis's indices: per outcome and parameter,
/// Sobol `S1` and `ST`, or Morris `mu_star` (with its interval), `mu` and
/// `sigma`.
///
/// # Errors
/// Any write error of `out`.
pub fn write_indices_csv(
    out: impl Write,
    outcomes: &[Outcome],
    indices: &[Indices],
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(INDICES_HEADER.split(','))?;
    for (outcome, indices) in outcomes.iter().zip(indices) {
        let o = outcome.to_string();
        match indices {
            Indices::Sobol(s) => {
                for p in &s.params {
                    for (name, e) in [("S1", &p.first), ("ST", &p.total)] {
                        w.write_record([
                            o.clone(),
                            p.name.clone(),
                            name.to_string(),
                            format_number(e.value),
                            format_number(e.low),
                            format_number(e.high),
                        ])?;
                    }
                }
            }
            Indices::Morris(m) => {
                for p in &m.params {
                    w.write_record([
                        o.clone(),
                        p.name.clone(),
                        "mu_star".into(),
                        format_number(p.mu_star.value),
                        format_number(p.mu_star.low),
                        format_number(p.mu_star.high),
                    ])?;
                    for (name, x) in [("mu", p.mu), ("sigma", p.sigma)] {
                        w.write_record([
                            o.clone(),
                            p.name.clone(),
                            name.to_string(),
                            format_number(x),
                            String::new(),
                            String::new(),
                        ])?;
                    }
                }
            }
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::compare::Comparison;
    use crate::experiment::points::PointRunner;
    use crate::experiment::sweep::{Layout, Vary};
    use crate::scenario::load_baseline;

    #[test]
    fn tables_have_one_row_per_point_and_outcome_and_parse_back() {
        let s = load_baseline(&["run.quarters=8".into()]).unwrap().scenario;
        let plan = Plan::new(
            &s,
            vec![Vary::parse("buyer.support_weight=0:2:3", &s).unwrap()],
            Layout::Grid,
            1,
        )
        .unwrap();
        let outcomes = vec![
            Outcome::parse("rolling_share:Russia@end", &s).unwrap(),
            Outcome::parse("first_ahead:Russia>China", &s).unwrap(),
        ];
        let build = plan.builder();
        let results = PointRunner::new(3, &build, outcomes.clone(), 30, 1)
            .run()
            .unwrap()
            .results;
        let mut out = Vec::new();
        write_sweep_csv(&mut out, &plan, &outcomes, &results).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "point",
                "buyer.support_weight",
                "outcome",
                "n",
                "mean",
                "sd",
                "p05",
                "p25",
                "p50",
                "p75",
                "p95"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6);
        assert_eq!(&rows[4][1], "2");

        let b = load_baseline(&["run.quarters=8".into(), "suppliers.Russia.support=0".into()])
            .unwrap()
            .scenario;
        let mut a = s.clone();
        a.set_runs(50).unwrap();
        let paired = Comparison::new(&a, &b)
            .unwrap()
            .threads(1)
            .run()
            .unwrap()
            .paired;
        let mut out = Vec::new();
        write_compare_csv(&mut out, &paired.outcomes, 0.9).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(COMPARE_HEADER));
        assert_eq!(text.lines().count(), 1 + paired.outcomes.len());
    }
}
