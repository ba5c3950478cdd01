//! One study of the page: the baseline and the changed scenario run as a
//! paired comparison with common random numbers (run k of both draws from
//! the same stream), on the calling (blocking) thread, with its progress
//! turned into small JSON snapshots: per supplier and quarter, the
//! percentiles of the rolling share and the support stance for the baseline
//! and the change, the paired difference in share, and the headline
//! sentence at the horizon. The page draws its fan charts from these; the
//! server sends the latest one after each round.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use armsim::experiment::compare::{CompareError, CompareOutcome, Comparison, Paired};
use armsim::metrics::{Entity, MetricId};
use armsim::model::Scenario;
use armsim::summary::Summary;

use super::api::Resolved;

/// One server-sent event: its name and JSON data.
#[derive(Debug, Clone)]
pub struct Message {
    /// `start`, `progress`, `done`, `cancelled` or `failed`.
    pub event: &'static str,
    /// The JSON payload.
    pub data: String,
}

/// The charts the page draws, in order.
const CHARTS: [(MetricId, &str); 2] = [
    (
        MetricId::RollingShare,
        "Five-year rolling share of arms imports",
    ),
    (
        MetricId::Support,
        "Support stance (0 condemns, 1 unconditional)",
    ),
];

/// Pairs of runs per round: small enough that the first charts come within
/// a fraction of a second, large enough that snapshots (a few milliseconds
/// each) cost little; about 50 rounds for a large study.
pub fn round_size(runs: u64) -> u64 {
    (runs / 50).clamp(256, 4096)
}

/// Rounds a value for the wire: four decimals are a hundredth of a
/// percentage point, finer than any chart shows.
fn round4(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1e4).round() / 1e4)
    } else {
        Value::Null
    }
}

/// The five percentiles of `metric` of supplier `i` at every quarter (null
/// where no run defines it).
fn fan(summary: &Summary, i: usize, metric: MetricId) -> Vec<Value> {
    let Some(m) = summary.metric(Entity::Supplier(i), metric) else {
        return Vec::new();
    };
    (0..summary.quarters())
        .map(|q| match summary.stat(q, &m) {
            Some(stat) if stat.percentiles.iter().all(|p| p.is_finite()) => {
                Value::Array(stat.percentiles.iter().map(|&p| round4(p)).collect())
            }
            _ => Value::Null,
        })
        .collect()
}

/// One supplier's share at the horizon: the baseline's and the change's
/// medians, and the paired difference's median and 90% band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShareRow {
    /// The supplier.
    pub supplier: String,
    /// Median share in the baseline.
    pub baseline: f64,
    /// Median share with the change.
    pub change: f64,
    /// Paired difference (change - baseline): 5th, 50th, 95th percentiles.
    pub difference: [f64; 3],
    /// Baseline's 90% band (5th and 95th percentiles).
    pub baseline_band: [f64; 2],
}

/// The sentence at the horizon and the rows behind it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headline {
    /// The horizon's label, such as `2030Q4`.
    pub quarter: String,
    /// The supplier the sentence is about: the one whose median share
    /// moved most (the largest share when nothing changed).
    pub supplier: String,
    /// The sentence.
    pub text: String,
    /// Every supplier.
    pub rows: Vec<ShareRow>,
}

/// Whole percentage points with a sign: `-23`, `+5`, `0`.
fn points(x: f64) -> String {
    let r = (x * 100.0).round();
    if r == 0.0 {
        "0".into()
    } else {
        format!("{:+}", r as i64)
    }
}

/// "point" for a difference that rounds to one point either way (`+1
/// point`), "points" otherwise (`-23 points`, `0 points`).
fn point_word(x: f64) -> &'static str {
    if (x * 100.0).round().abs() == 1.0 {
        "point"
    } else {
        "points"
    }
}

/// Whole percents, halves rounded away from zero as the page's table rounds
/// them (`{:.0}` would round 24.5 to even, 24, beside the page's 25).
fn percent(x: f64) -> String {
    format!("{}%", (x * 100.0).round() as i64)
}

/// The headline at the last quarter, or `None` before any run defines the
/// shares there.
pub fn headline(scenario: &Scenario, paired: &Paired, changed: bool) -> Option<Headline> {
    let q = paired.a.quarters().checked_sub(1)?;
    let stat = |summary: &Summary, i: usize| {
        let m = summary.metric(Entity::Supplier(i), MetricId::RollingShare)?;
        summary.stat(q, &m)
    };
    let mut rows = Vec::new();
    for (i, sup) in scenario.suppliers().iter().enumerate() {
        let (a, b, d) = (
            stat(&paired.a, i)?,
            stat(&paired.b, i)?,
            stat(&paired.difference, i)?,
        );
        rows.push(ShareRow {
            supplier: sup.name().to_string(),
            baseline: a.p50(),
            change: b.p50(),
            difference: [d.p05(), d.p50(), d.p95()],
            baseline_band: [a.p05(), a.p95()],
        });
    }
    let quarter = scenario.label(q as u32).to_string();
    let (pick, text) = if changed {
        // The supplier whose paired median moved most; the first on ties.
        let pick = rows.iter().enumerate().fold(0, |best, (i, r)| {
            if r.difference[1].abs() > rows[best].difference[1].abs() {
                i
            } else {
                best
            }
        });
        let r = &rows[pick];
        (
            pick,
            format!(
                "{}'s five-year share at {quarter}: {} → {}, {} {} [90%: {}, {}]",
                r.supplier,
                percent(r.baseline),
                percent(r.change),
                points(r.difference[1]),
                point_word(r.difference[1]),
                points(r.difference[0]),
                points(r.difference[2]),
            ),
        )
    } else {
        let pick = rows.iter().enumerate().fold(0, |best, (i, r)| {
            if r.baseline > rows[best].baseline {
                i
            } else {
                best
            }
        });
        let r = &rows[pick];
        (
            pick,
            format!(
                "Baseline, nothing changed yet: {}'s five-year share at {quarter}: {} [90%: {}, {}]",
                r.supplier,
                percent(r.baseline),
                percent(r.baseline_band[0]),
                percent(r.baseline_band[1]),
            ),
        )
    };
    Some(Headline {
        quarter,
        supplier: rows[pick].supplier.clone(),
        text,
        rows,
    })
}

/// The state of a study, as a snapshot reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Rounds still to come.
    Running,
    /// Every run done.
    Done,
    /// Stopped before the end.
    Cancelled,
}

impl Phase {
    fn event(self) -> &'static str {
        match self {
            Phase::Running => "progress",
            Phase::Done => "done",
            Phase::Cancelled => "cancelled",
        }
    }
}

/// A snapshot of `paired` as an event for the page.
pub fn snapshot(
    resolved: &Resolved,
    study: u64,
    paired: &Paired,
    seconds: f64,
    phase: Phase,
) -> Message {
    let s = &resolved.baseline.scenario;
    let n = s.suppliers().len();
    let charts: Vec<Value> = CHARTS
        .iter()
        .map(|&(metric, title)| {
            json!({
                "metric": metric.name(),
                "title": title,
                "baseline": (0..n).map(|i| fan(&paired.a, i, metric)).collect::<Vec<_>>(),
                "change": (0..n).map(|i| fan(&paired.b, i, metric)).collect::<Vec<_>>(),
                "difference": (0..n).map(|i| fan(&paired.difference, i, metric)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let data = json!({
        "study": study,
        "phase": phase.event(),
        "runs": paired.runs,
        "total": s.runs(),
        "seconds": seconds,
        "rate": if seconds > 0.0 { paired.runs as f64 / seconds } else { 0.0 },
        "charts": charts,
        "headline": headline(s, paired, !resolved.applied.is_empty()),
    });
    Message {
        event: phase.event(),
        data: data.to_string(),
    }
}

/// The first event of a study: what is being run.
pub fn start(resolved: &Resolved, study: u64, threads: usize) -> Message {
    let s = &resolved.baseline.scenario;
    let data = json!({
        "study": study,
        "scenario": s.id(),
        "name": s.name(),
        "runs": s.runs(),
        "seed": s.seed().to_string(),
        "threads": threads,
        "labels": (0..s.quarters()).map(|q| s.label(q).to_string()).collect::<Vec<_>>(),
        "suppliers": s.suppliers().iter().map(|x| x.name()).collect::<Vec<_>>(),
        "changes": resolved.applied,
        "charts": CHARTS.iter().map(|(m, title)| json!({"metric": m.name(), "title": title})).collect::<Vec<_>>(),
    });
    Message {
        event: "start",
        data: data.to_string(),
    }
}

/// Runs the study on this thread, calling `send` with a snapshot after each
/// round but the last; stops at a round's end once `cancel` is set. Returns
/// the outcome and the final snapshot (`done` or `cancelled`), for the
/// caller to send once it has kept what the page may download.
///
/// # Errors
/// [`CompareError`] if the scenarios cannot be paired or the pool cannot start.
pub fn run(
    resolved: &Resolved,
    study: u64,
    threads: usize,
    cancel: &AtomicBool,
    send: &mut dyn FnMut(Message),
) -> Result<(CompareOutcome, Message), CompareError> {
    let started = Instant::now();
    let a = &resolved.baseline.scenario;
    let b = &resolved.variant.scenario;
    let mut on_round = |p: &Paired| {
        if p.runs < a.runs() {
            send(snapshot(
                resolved,
                study,
                p,
                started.elapsed().as_secs_f64(),
                Phase::Running,
            ));
        }
    };
    let outcome = Comparison::new(a, b)?
        .threads(threads)
        .round_size(round_size(a.runs()))
        .on_round(&mut on_round)
        .cancel_flag(cancel)
        .run()?;
    let phase = if outcome.interrupted {
        Phase::Cancelled
    } else {
        Phase::Done
    };
    let last = snapshot(
        resolved,
        study,
        &outcome.paired,
        started.elapsed().as_secs_f64(),
        phase,
    );
    Ok((outcome, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page draws fans of medians; a yes/no metric's median is 0 or 1,
    /// so it must never be one of the page's charts (draw its probability).
    #[test]
    fn the_page_charts_no_yes_no_metric_as_a_fan() {
        for (metric, _) in CHARTS {
            assert_ne!(metric.kind(), armsim::metrics::Kind::Event, "{metric:?}");
        }
    }

    #[test]
    fn points_and_percents_read_as_a_student_expects() {
        assert_eq!(points(-0.2349), "-23");
        assert_eq!(points(0.051), "+5");
        assert_eq!(points(-0.004), "0");
        assert_eq!(point_word(0.012), "point");
        assert_eq!(point_word(-0.009), "point");
        assert_eq!(point_word(0.004), "points");
        assert_eq!(point_word(-0.23), "points");
        assert_eq!(percent(0.714), "71%");
        // Halves round away from zero, as the page's table rounds the same median.
        assert_eq!(percent(0.245), "25%");
    }

    #[test]
    fn round_sizes_give_a_quick_first_round() {
        assert_eq!(round_size(100), 256);
        assert_eq!(round_size(100_000), 2000);
        assert_eq!(round_size(10_000_000), 4096);
    }
}
