//! Outcomes: scalar summaries of one run, named once and shared by every
//! experiment (compare, sweep, sensitivity, calibration).
//!
//! An outcome is written as text, so it can be given on the command line or
//! in a scenario's `[experiment] outcomes`:
//!
//! ```text
//! [AGGREGATE:]METRIC:ENTITY@WHEN      a metric of the catalogue
//! first_ahead:A>B                     the first quarter A's rolling share passes B's
//! ```
//!
//! - `METRIC` is a metric of the catalogue ([`crate::metrics`]; `armsim
//!   outcomes` lists them) and `ENTITY` is `world`, `buyer`, a supplier's
//!   name, or a compared pair `A>B` for pair metrics.
//! - `WHEN` is a quarter (`2030Q4`, `end` for the last), a span of quarters
//!   (`2026Q1..2030Q4`), a year (`2022`, its four quarters) or a span of
//!   years (`2021..2022`).
//! - `AGGREGATE` says how a span is summarised: `mean` (the default: the
//!   mean over the quarters where the metric is defined), `sum` (for flows
//!   such as `deliveries`), `max`, `min`, `share` (a supplier's part of
//!   the span's total over all suppliers: `share:deliveries:China@2016..2020`
//!   is SIPRI's five-year share) or `cv` (the coefficient of variation of the
//!   span's annual sums, for a flow over whole calendar years:
//!   `cv:imports:buyer@2016..2020` is the year-to-year lumpiness of
//!   deliveries, computed as [`crate::data::Grouped::lumpiness`] computes it
//!   from SIPRI's record). `max:embargo:world@2021..2030` is whether an
//!   embargo was ever in force.
//! - `first_ahead:A>B` is the quarter (0-based, from the start) in which
//!   A's rolling share first exceeds B's; undefined in a run where it never
//!   does, so its count of defined runs is the probability that it happens.
//!
//! An [`OutcomeSet`] is an [`Observer`] that evaluates outcomes as a run
//! goes, and hands back one value per outcome at the end of each run (NaN
//! where undefined).

use std::fmt;
use std::sync::Arc;

use crate::engine::{Observer, QuarterView, Simulator};
use crate::metrics::{Entity, Kind, MetricId, Scope};
use crate::model::{Quarter, Scenario};
use crate::stats::Binning;

/// Why an outcome's text could not be understood for a scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("outcome `{text}`: {reason}")]
pub struct OutcomeError {
    /// The outcome as written.
    pub text: String,
    /// What is wrong, with the valid choices where there are few.
    pub reason: String,
}

/// How an outcome summarises the quarters of its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Mean over the quarters where the metric is defined.
    Mean,
    /// Sum over the quarters (undefined quarters count 0).
    Sum,
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// The entity's sum over the span divided by all suppliers' sum (a
    /// supplier's share of a flow, such as deliveries over a SIPRI window).
    Share,
    /// The coefficient of variation of the span's annual sums: population
    /// standard deviation (divisor the number of years) over the mean, as
    /// [`crate::data::Grouped::lumpiness`] computes SIPRI's; undefined when
    /// the mean is 0. The span must be whole calendar years.
    Cv,
}

impl Aggregate {
    fn name(self) -> &'static str {
        match self {
            Aggregate::Mean => "mean",
            Aggregate::Sum => "sum",
            Aggregate::Max => "max",
            Aggregate::Min => "min",
            Aggregate::Share => "share",
            Aggregate::Cv => "cv",
        }
    }

    fn from_name(name: &str) -> Option<Aggregate> {
        [
            Aggregate::Mean,
            Aggregate::Sum,
            Aggregate::Max,
            Aggregate::Min,
            Aggregate::Share,
            Aggregate::Cv,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// What an outcome measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A metric of an entity over quarters `from..=to`, aggregated.
    Metric {
        /// The metric.
        id: MetricId,
        /// Whose.
        entity: Entity,
        /// First quarter (0-based).
        from: u32,
        /// Last quarter (0-based, inclusive).
        to: u32,
        /// How the span is summarised.
        aggregate: Aggregate,
    },
    /// The first quarter in which supplier `a`'s rolling share exceeds `b`'s.
    FirstAhead {
        /// The supplier that overtakes.
        a: usize,
        /// The supplier overtaken.
        b: usize,
    },
}

/// An outcome: a scalar summary of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    text: String,
    measure: Measure,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Outcome {
    /// Parses `text` (see the module documentation) for `scenario`.
    ///
    /// # Errors
    /// [`OutcomeError`] saying what is wrong and what was expected.
    pub fn parse(text: &str, scenario: &Scenario) -> Result<Outcome, OutcomeError> {
        let p = OutcomeParser {
            text: text.trim(),
            scenario,
        };
        if let Some(pair) = p.text.strip_prefix("first_ahead:") {
            let (a, b) = p.pair(pair, "expected first_ahead:A>B")?;
            if a == b {
                return Err(p.fail("A and B must be different suppliers".into()));
            }
            return Ok(Outcome {
                text: p.text.to_string(),
                measure: Measure::FirstAhead { a, b },
            });
        }
        let (what, when) = p.text.split_once('@').ok_or_else(|| {
            p.fail("expected METRIC:ENTITY@WHEN, such as rolling_share:Russia@2030Q4".into())
        })?;
        let (aggregate, id, entity) = p.metric(what)?;
        let entity = p.entity(id, entity)?;
        p.check_aggregate(aggregate, id)?;
        let (from, to) = span(when.trim(), scenario).map_err(|reason| p.fail(reason))?;
        p.check_whole_years(aggregate, from, to)?;
        Ok(Outcome {
            text: p.text.to_string(),
            measure: Measure::Metric {
                id,
                entity,
                from,
                to,
                aggregate: aggregate.unwrap_or(Aggregate::Mean),
            },
        })
    }

    /// What it measures.
    pub fn measure(&self) -> Measure {
        self.measure
    }

    /// How its values are histogrammed: shares and probabilities on the unit
    /// interval, flows and quarters on the positive sketch.
    pub fn binning(&self) -> Binning {
        match self.measure {
            Measure::FirstAhead { .. } => Binning::Positive,
            Measure::Metric { id, aggregate, .. } => match (id.kind(), aggregate) {
                (_, Aggregate::Share) => Binning::Unit,
                (_, Aggregate::Cv) => Binning::Positive,
                (Kind::Unit | Kind::Event, Aggregate::Sum) => Binning::Positive,
                (Kind::Unit | Kind::Event, _) => Binning::Unit,
                (Kind::Positive, _) => Binning::Positive,
            },
        }
    }

    /// Whether its values are quarters (0-based indices from the start).
    pub fn is_quarter(&self) -> bool {
        matches!(self.measure, Measure::FirstAhead { .. })
    }

    /// Whether values are shares or probabilities, best shown in percent. A
    /// 0-1 stance or index (`support`, `unrest`, `influence`) is not: it is
    /// written as a number between 0 and 1, as the scenario writes it.
    pub fn is_share(&self) -> bool {
        match self.measure {
            Measure::FirstAhead { .. } => false,
            Measure::Metric { id, aggregate, .. } => match aggregate {
                Aggregate::Share => true,
                Aggregate::Sum | Aggregate::Cv => false,
                Aggregate::Mean | Aggregate::Max | Aggregate::Min => {
                    id.kind() == Kind::Event || id.unit().starts_with("share")
                }
            },
        }
    }

    /// Whether each run's value is 0 or 1 (an event at one quarter, or
    /// whether it ever or always held over a span: `max:embargo:world@...`),
    /// so that across runs only its mean, a probability, says anything: its
    /// median is 0 or 1. Plots draw such an outcome as the probability with
    /// its interval, never as percentiles.
    pub fn is_probability(&self) -> bool {
        match self.measure {
            Measure::FirstAhead { .. } => false,
            Measure::Metric {
                id,
                aggregate,
                from,
                to,
                ..
            } => {
                id.kind() == Kind::Event
                    && match aggregate {
                        Aggregate::Max | Aggregate::Min => true,
                        Aggregate::Mean => from == to,
                        Aggregate::Sum | Aggregate::Share | Aggregate::Cv => false,
                    }
            }
        }
    }

    /// The outcomes a scenario is most often asked about: each supplier's
    /// rolling share and support at the horizon, whether an embargo was ever
    /// in force, and when each compared pair first crossed.
    pub fn defaults(scenario: &Scenario) -> Vec<Outcome> {
        let mut texts = Vec::new();
        for s in scenario.suppliers() {
            texts.push(format!("rolling_share:{}@end", s.name()));
        }
        for s in scenario.suppliers() {
            texts.push(format!("support:{}@end", s.name()));
        }
        let first = scenario.start();
        let last = scenario.label(scenario.quarters() - 1);
        texts.push(format!("max:embargo:world@{first}..{last}"));
        for &(a, b) in scenario.compare() {
            let names = scenario.suppliers();
            texts.push(format!(
                "first_ahead:{}>{}",
                names[a].name(),
                names[b].name()
            ));
        }
        texts
            .iter()
            .map(|t| Outcome::parse(t, scenario).expect("defaults are valid"))
            .collect()
    }
}

/// Parses a span: `end`, `2030Q4`, `2026Q1..2030Q4`, `2022`, `2021..2022`.
fn span(when: &str, scenario: &Scenario) -> Result<(u32, u32), String> {
    let last = scenario.quarters() - 1;
    let first_label = scenario.start();
    let last_label = scenario.label(last);
    let point = |s: &str, end_of_year: bool| -> Result<u32, String> {
        let s = s.trim();
        if s == "end" {
            return Ok(last);
        }
        if s == "start" {
            return Ok(0);
        }
        let quarter = if let Ok(year) = s.parse::<i32>() {
            Quarter {
                year,
                q: if end_of_year { 4 } else { 1 },
            }
        } else {
            Quarter::parse(s).ok_or(format!(
                "`{s}` is not a quarter such as 2030Q4, a year, `start` or `end`"
            ))?
        };
        let index = first_label.quarters_until(quarter);
        if !(0..=last as i64).contains(&index) {
            return Err(format!(
                "{quarter} is outside the run, {first_label} to {last_label}"
            ));
        }
        Ok(index as u32)
    };
    let (from, to) = match when.split_once("..") {
        Some((a, b)) => (point(a, false)?, point(b, true)?),
        None => (point(when, false)?, point(when, true)?),
    };
    if from > to {
        return Err(format!("the span {when} ends before it starts"));
    }
    Ok((from, to))
}

/// What [`Outcome::parse`] reads an outcome's text with: each part's
/// reading and its errors, which quote the whole text.
struct OutcomeParser<'s> {
    text: &'s str,
    scenario: &'s Scenario,
}

impl OutcomeParser<'_> {
    fn fail(&self, reason: String) -> OutcomeError {
        OutcomeError {
            text: self.text.to_string(),
            reason,
        }
    }

    /// A supplier's index by its name.
    fn supplier(&self, name: &str) -> Result<usize, OutcomeError> {
        self.scenario.supplier_index(name).ok_or_else(|| {
            let names: Vec<&str> = self.scenario.suppliers().iter().map(|s| s.name()).collect();
            self.fail(format!(
                "no supplier `{name}`; suppliers are {}",
                names.join(", ")
            ))
        })
    }

    /// `A>B`: two suppliers' indices (`expected` where there is no `>`).
    fn pair(&self, pair: &str, expected: &str) -> Result<(usize, usize), OutcomeError> {
        let (a, b) = pair
            .split_once('>')
            .ok_or_else(|| self.fail(expected.into()))?;
        Ok((self.supplier(a.trim())?, self.supplier(b.trim())?))
    }

    /// `[AGGREGATE:]METRIC:ENTITY`: the aggregate if given, the metric,
    /// and the entity as written.
    fn metric<'w>(
        &self,
        what: &'w str,
    ) -> Result<(Option<Aggregate>, MetricId, &'w str), OutcomeError> {
        let parts: Vec<&str> = what.split(':').map(str::trim).collect();
        let (aggregate, metric, entity) = match parts.as_slice() {
            [metric, entity] => (None, *metric, *entity),
            [aggregate, metric, entity] => (
                Some(Aggregate::from_name(aggregate).ok_or_else(|| {
                    self.fail(format!(
                        "no aggregate `{aggregate}`; use mean, sum, max, min, share or cv"
                    ))
                })?),
                *metric,
                *entity,
            ),
            _ => {
                return Err(self.fail(
                    "expected [AGGREGATE:]METRIC:ENTITY@WHEN, such as rolling_share:Russia@2030Q4"
                        .into(),
                ));
            }
        };
        let id = MetricId::from_name(metric).ok_or_else(|| {
            let all: Vec<&str> = MetricId::ALL.iter().map(|m| m.name()).collect();
            self.fail(format!(
                "no metric `{metric}`; metrics are {}",
                all.join(", ")
            ))
        })?;
        Ok((aggregate, id, entity))
    }

    /// The entity `entity` names, of the metric's scope.
    fn entity(&self, id: MetricId, entity: &str) -> Result<Entity, OutcomeError> {
        let metric = id.name();
        Ok(match (id.scope(), entity) {
            (Scope::World, "world") => Entity::World,
            (Scope::Buyer, "buyer") => Entity::Buyer,
            (Scope::Supplier, name) => Entity::Supplier(self.supplier(name)?),
            (Scope::Pair, pair) => {
                let (a, b) = self.pair(pair, &format!("{metric} is a pair metric: write A>B"))?;
                if !self.scenario.compare().contains(&(a, b)) {
                    let names = self.scenario.suppliers();
                    return Err(self.fail(format!(
                        "{} > {} is not among the scenario's compared pairs ([run] compare)",
                        names[a].name(),
                        names[b].name()
                    )));
                }
                Entity::Pair(a, b)
            }
            (scope, _) => {
                let whose = match scope {
                    Scope::World => "world",
                    Scope::Buyer => "buyer",
                    Scope::Supplier => "a supplier's name",
                    Scope::Pair => "a pair A>B",
                };
                return Err(self.fail(format!("{metric} belongs to {whose}")));
            }
        })
    }

    /// Whether `aggregate` can summarise metric `id`: `share` a supplier's
    /// flow, `cv` a flow.
    fn check_aggregate(
        &self,
        aggregate: Option<Aggregate>,
        id: MetricId,
    ) -> Result<(), OutcomeError> {
        let metric = id.name();
        if aggregate == Some(Aggregate::Share)
            && !(id.scope() == Scope::Supplier && id.kind() == Kind::Positive)
        {
            return Err(self.fail(format!(
                "share needs a supplier's flow (orders, deliveries, backlog), not {metric}"
            )));
        }
        if aggregate == Some(Aggregate::Cv) && id.kind() != Kind::Positive {
            return Err(self.fail(format!(
                "cv needs a flow (orders, deliveries, imports, budget), not {metric}"
            )));
        }
        Ok(())
    }

    /// A `cv` spans whole years, quarters `from..=to` from a first quarter
    /// to a last.
    fn check_whole_years(
        &self,
        aggregate: Option<Aggregate>,
        from: u32,
        to: u32,
    ) -> Result<(), OutcomeError> {
        let (first, last) = (self.scenario.label(from), self.scenario.label(to));
        if aggregate == Some(Aggregate::Cv) && (first.q != 1 || last.q != 4) {
            return Err(self.fail(format!(
                "cv compares annual sums: the span must run from a first quarter to a last \
                 quarter ({first} to {last} does not); write years, such as 2016..2020"
            )));
        }
        Ok(())
    }
}

/// Evaluates outcomes as runs go: an [`Observer`] that, at each run's last
/// quarter, leaves one value per outcome in [`OutcomeSet::values`]. Two
/// runs stepped together are observed together by a set and its
/// [`OutcomeSet::twin`] ([`OutcomeSet::observe_two`]).
#[derive(Debug, Clone)]
pub struct OutcomeSet {
    /// What to read, shared with the set's twins.
    plan: Arc<Plan>,
    accumulators: Vec<Acc>,
    values: Vec<f64>,
}

/// What an [`OutcomeSet`] reads of each quarter, worked out when it is built.
#[derive(Debug)]
struct Plan {
    outcomes: Vec<Outcome>,
    /// Each outcome's accumulator as a run starts.
    fresh: Vec<Acc>,
    last_quarter: u32,
    /// What each quarter reads of the metrics, resolved when the set is
    /// built, quarter after quarter: quarter `t`'s steps are
    /// `steps[first[t]..first[t + 1]]`. Most outcomes read only the last
    /// quarter, so most quarters take one or two steps.
    steps: Vec<Step>,
    first: Vec<usize>,
    /// The `first_ahead` outcomes, read every quarter: accumulator, `a`, `b`.
    first_ahead: Vec<(usize, usize, usize)>,
}

/// One outcome's reading of one quarter, with everything that does not
/// depend on the run (which accumulator, which metric and entity, whether
/// a year ends) worked out in advance.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Folds metric `id` of entity `(i, j)` into accumulator `acc` by
    /// `aggregate` (anything but `cv`).
    Fold {
        acc: usize,
        id: MetricId,
        i: usize,
        j: usize,
        aggregate: Aggregate,
    },
    /// Adds metric `id` of entity `(i, j)` to the year's sum of a `cv`
    /// accumulator, closing the year after the quarter when `year_ends`.
    Year {
        acc: usize,
        id: MetricId,
        i: usize,
        j: usize,
        year_ends: bool,
    },
}

impl Step {
    /// Outcome `acc`'s step in quarter `t`, if it reads a metric of that
    /// quarter.
    fn of(acc: usize, measure: Measure, t: u32) -> Option<Step> {
        match measure {
            Measure::FirstAhead { .. } => None,
            Measure::Metric {
                id,
                entity,
                from,
                to,
                aggregate,
            } => {
                if !(from..=to).contains(&t) {
                    return None;
                }
                let (i, j) = entity.indices();
                Some(match aggregate {
                    Aggregate::Cv => Step::Year {
                        acc,
                        id,
                        i,
                        j,
                        year_ends: (t - from) % 4 == 3,
                    },
                    _ => Step::Fold {
                        acc,
                        id,
                        i,
                        j,
                        aggregate,
                    },
                })
            }
        }
    }
}

/// A worker's simulator and outcome set for the scenario of a list it ran
/// last: work that runs many scenarios' runs in index order (a block of
/// design points, a calibration's forecast) rebuilds them only when the
/// scenario changes. A second pair, for two runs stepped together
/// ([`Simulator::run_two`]), is built the first time it is asked for.
#[derive(Default)]
pub struct ScenarioWorker<'s> {
    current: Option<Current<'s>>,
}

/// The simulators and outcome sets of scenario `index`.
struct Current<'s> {
    index: usize,
    first: (Simulator<'s>, OutcomeSet),
    second: Option<(Simulator<'s>, OutcomeSet)>,
}

impl<'s> ScenarioWorker<'s> {
    /// The simulator and outcome set of `scenarios[j]`, built if the last
    /// call was for another scenario.
    pub fn at(
        &mut self,
        j: usize,
        scenarios: &'s [Scenario],
        outcomes: &[Outcome],
    ) -> (&mut Simulator<'s>, &mut OutcomeSet) {
        let (sim, set) = &mut self.current(j, scenarios, outcomes).first;
        (sim, set)
    }

    /// For indices `k` and `k + 1` of work that runs `runs` runs of each
    /// scenario in turn (index `k` is a run of `scenarios[k / runs]`): two
    /// simulators and outcome sets of their scenario, to step the two runs
    /// together, or `None` where the two are runs of different scenarios.
    pub fn two_at(
        &mut self,
        k: u64,
        runs: u64,
        scenarios: &'s [Scenario],
        outcomes: &[Outcome],
    ) -> Option<[(&mut Simulator<'s>, &mut OutcomeSet); 2]> {
        let j = (k / runs) as usize;
        if (k + 1) / runs != k / runs {
            return None;
        }
        let current = self.current(j, scenarios, outcomes);
        let (sim_a, set_a) = &mut current.first;
        // The second set is the first's twin, so the two observe a pair's
        // quarters together (`OutcomeSet::observe_two`).
        let (sim_b, set_b) = current
            .second
            .get_or_insert_with(|| (Simulator::new(&scenarios[j]), set_a.twin()));
        Some([(sim_a, set_a), (sim_b, set_b)])
    }

    fn current(
        &mut self,
        j: usize,
        scenarios: &'s [Scenario],
        outcomes: &[Outcome],
    ) -> &mut Current<'s> {
        if self.current.as_ref().is_none_or(|c| c.index != j) {
            let scenario = &scenarios[j];
            self.current = Some(Current {
                index: j,
                first: (
                    Simulator::new(scenario),
                    OutcomeSet::new(outcomes.to_vec(), scenario),
                ),
                second: None,
            });
        }
        self.current.as_mut().expect("set above")
    }
}

/// One outcome's running state within a run.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    /// The running aggregate (for `cv`, the current year's partial sum; for
    /// `first_ahead`, the quarter or NaN).
    value: f64,
    /// The all-suppliers total (for shares).
    total: f64,
    /// Quarters in which the metric was defined.
    defined: u32,
    /// For `cv`: completed years, and Welford's running mean and sum of
    /// squared deviations of their sums (stable where `E[x^2] - E[x]^2` would
    /// cancel).
    years: u32,
    mean: f64,
    m2: f64,
}

impl Acc {
    fn start(measure: Measure) -> Acc {
        let value = match measure {
            Measure::Metric {
                aggregate: Aggregate::Max,
                ..
            } => f64::NEG_INFINITY,
            Measure::Metric {
                aggregate: Aggregate::Min,
                ..
            } => f64::INFINITY,
            Measure::FirstAhead { .. } => f64::NAN,
            Measure::Metric { .. } => 0.0,
        };
        Acc {
            value,
            ..Acc::default()
        }
    }

    /// Closes a year of a `cv` outcome.
    fn end_year(&mut self) {
        let y = self.value;
        self.value = 0.0;
        self.years += 1;
        let delta = y - self.mean;
        self.mean += delta / f64::from(self.years);
        self.m2 += delta * (y - self.mean);
    }
}

impl OutcomeSet {
    /// A set evaluating `outcomes` on runs of `scenario`.
    pub fn new(outcomes: Vec<Outcome>, scenario: &Scenario) -> Self {
        let n = outcomes.len();
        let (mut steps, mut first) = (Vec::new(), vec![0]);
        for t in 0..scenario.quarters() {
            steps.extend((0..n).filter_map(|k| Step::of(k, outcomes[k].measure, t)));
            first.push(steps.len());
        }
        let first_ahead = (0..n)
            .filter_map(|k| match outcomes[k].measure {
                Measure::FirstAhead { a, b } => Some((k, a, b)),
                Measure::Metric { .. } => None,
            })
            .collect();
        let fresh: Vec<Acc> = outcomes.iter().map(|o| Acc::start(o.measure)).collect();
        OutcomeSet {
            accumulators: fresh.clone(),
            values: vec![f64::NAN; n],
            plan: Arc::new(Plan {
                outcomes,
                fresh,
                last_quarter: scenario.quarters() - 1,
                steps,
                first,
                first_ahead,
            }),
        }
    }

    /// A set of the same outcomes, for runs of the same horizon, sharing
    /// this one's plan, so that [`OutcomeSet::observe_two`] reads each
    /// quarter's steps once for both.
    pub fn twin(&self) -> OutcomeSet {
        OutcomeSet {
            plan: Arc::clone(&self.plan),
            accumulators: self.plan.fresh.clone(),
            values: vec![f64::NAN; self.values.len()],
        }
    }

    /// Observes a quarter of two runs, `a` into this set and `b` into
    /// `other`, with the same results as observing each in its set. Where
    /// `other` is this set's [`OutcomeSet::twin`] (or this set one of its)
    /// and the two quarters are the same, each of the quarter's steps is
    /// read once for both runs.
    pub fn observe_two(
        &mut self,
        other: &mut OutcomeSet,
        a: &QuarterView<'_>,
        b: &QuarterView<'_>,
    ) {
        if !Arc::ptr_eq(&self.plan, &other.plan) || a.quarter != b.quarter {
            self.observe(a);
            other.observe(b);
            return;
        }
        self.plan.observe([
            Run {
                accumulators: &mut self.accumulators,
                values: &mut self.values,
                view: a,
            },
            Run {
                accumulators: &mut other.accumulators,
                values: &mut other.values,
                view: b,
            },
        ]);
    }

    /// The outcomes, in order.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.plan.outcomes
    }

    /// The last completed run's value of each outcome (NaN where undefined).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

impl Observer for OutcomeSet {
    fn observe(&mut self, v: &QuarterView<'_>) {
        self.plan.observe([Run {
            accumulators: &mut self.accumulators,
            values: &mut self.values,
            view: v,
        }]);
    }
}

/// One run's part of [`Plan::observe`]: its accumulators, its values and
/// the quarter it observes.
struct Run<'r, 'v> {
    accumulators: &'r mut [Acc],
    values: &'r mut [f64],
    view: &'r QuarterView<'v>,
}

impl Plan {
    /// Observes the same quarter of `N` runs, each of the quarter's steps
    /// read once for all of them.
    #[inline(always)]
    fn observe<const N: usize>(&self, mut runs: [Run<'_, '_>; N]) {
        let t = runs[0].view.quarter;
        debug_assert!(runs.iter().all(|r| r.view.quarter == t));
        if t == 0 {
            for r in &mut runs {
                r.accumulators.copy_from_slice(&self.fresh);
            }
        }
        let steps = match self.first.get(t as usize..t as usize + 2) {
            Some(&[from, to]) => &self.steps[from..to],
            _ => &[],
        };
        for &step in steps {
            match step {
                Step::Fold {
                    acc,
                    id,
                    i,
                    j,
                    aggregate,
                } => {
                    for r in &mut runs {
                        let v = r.view;
                        let x = read_metric(id, v, i, j);
                        if x.is_nan() {
                            continue;
                        }
                        let acc = &mut r.accumulators[acc];
                        acc.defined += 1;
                        acc.value = match aggregate {
                            Aggregate::Max => acc.value.max(x),
                            Aggregate::Min => acc.value.min(x),
                            _ => acc.value + x,
                        };
                        if aggregate == Aggregate::Share {
                            acc.total += (0..v.support.len())
                                .map(|k| read_metric(id, v, k, 0))
                                .sum::<f64>();
                        }
                    }
                }
                Step::Year {
                    acc,
                    id,
                    i,
                    j,
                    year_ends,
                } => {
                    for r in &mut runs {
                        let x = read_metric(id, r.view, i, j);
                        let acc = &mut r.accumulators[acc];
                        // An undefined quarter adds nothing to its year, as a
                        // year without a SIPRI row counts 0.
                        if !x.is_nan() {
                            acc.value += x;
                        }
                        if year_ends {
                            acc.end_year();
                        }
                    }
                }
            }
        }
        for r in &mut runs {
            let v = r.view;
            if v.rolling_defined {
                for &(acc, a, b) in &self.first_ahead {
                    let acc = &mut r.accumulators[acc];
                    if acc.value.is_nan() && v.rolling_share[a] > v.rolling_share[b] {
                        acc.value = t as f64;
                    }
                }
            }
        }
        if t == self.last_quarter {
            for r in &mut runs {
                self.finish(r.accumulators, r.values);
            }
        }
    }

    /// Each outcome's value of a run that has ended.
    fn finish(&self, accumulators: &[Acc], values: &mut [f64]) {
        for ((outcome, acc), value) in self.outcomes.iter().zip(accumulators).zip(values) {
            *value = match outcome.measure {
                Measure::FirstAhead { .. } => acc.value,
                Measure::Metric { aggregate, .. } => match (aggregate, acc.defined) {
                    (Aggregate::Sum, _) => acc.value,
                    (Aggregate::Cv, _) if acc.years > 0 && acc.mean > 0.0 => {
                        (acc.m2.max(0.0) / f64::from(acc.years)).sqrt() / acc.mean
                    }
                    (Aggregate::Cv, _) => f64::NAN,
                    (_, 0) => f64::NAN,
                    (Aggregate::Mean, n) => acc.value / n as f64,
                    (Aggregate::Share, _) if acc.total > 0.0 => acc.value / acc.total,
                    (Aggregate::Share, _) => f64::NAN,
                    _ => acc.value,
                },
            };
        }
    }
}

/// One metric's value in a quarter, out of line: inlined, the compiler
/// loads every field any metric reads before an outcome set's loop, some
/// fifty instructions a quarter where a quarter reads a few outcomes (the
/// defaults read four: the embargo and each compared pair).
#[inline(never)]
fn read_metric(id: MetricId, v: &QuarterView<'_>, i: usize, j: usize) -> f64 {
    id.read(v, i, j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Simulator, run_rng};
    use crate::scenario::load_baseline;

    fn baseline() -> Scenario {
        load_baseline(&[]).unwrap().scenario
    }

    /// `texts` parsed as outcomes of `s`.
    fn parse_all(texts: &[&str], s: &Scenario) -> Vec<Outcome> {
        texts
            .iter()
            .map(|t| Outcome::parse(t, s).unwrap())
            .collect()
    }

    #[test]
    fn outcomes_parse_and_refuse_with_reasons() {
        let s = baseline();
        let o = Outcome::parse("rolling_share:Russia@2030Q4", &s).unwrap();
        assert_eq!(
            o.measure(),
            Measure::Metric {
                id: MetricId::RollingShare,
                entity: Entity::Supplier(0),
                from: 39,
                to: 39,
                aggregate: Aggregate::Mean
            }
        );
        let o = Outcome::parse("sum:deliveries:China@2021..2022", &s).unwrap();
        assert!(matches!(
            o.measure(),
            Measure::Metric {
                from: 0,
                to: 7,
                aggregate: Aggregate::Sum,
                ..
            }
        ));
        assert_eq!(o.binning(), Binning::Positive);
        let o = Outcome::parse("max:embargo:world@start..end", &s).unwrap();
        assert!(matches!(
            o.measure(),
            Measure::Metric {
                from: 0,
                to: 39,
                ..
            }
        ));
        assert!(o.is_share());
        // Yes/no per run: their medians are 0 or 1, their means probabilities.
        let parse = |t: &str| Outcome::parse(t, &s).unwrap();
        for yes_no in [
            "max:embargo:world@start..end",
            "min:embargo:world@2025..2026",
            "embargo:world@2030Q4",
            "ahead:Russia>China@end",
            "ever_ahead:Russia>China@2026Q4",
        ] {
            let o = parse(yes_no);
            assert!(o.is_probability() && o.is_share(), "{yes_no}");
        }
        for not in [
            "mean:embargo:world@2021..2030",
            "sum:embargo:world@2021..2030",
            "rolling_share:Russia@end",
            "support:Russia@end",
            "first_ahead:Russia>China",
        ] {
            assert!(!parse(not).is_probability(), "{not}");
        }
        // Shares and probabilities read in percent; a 0-1 stance or index
        // reads as the scenario writes it.
        for (text, share) in [
            ("rolling_share:Russia@end", true),
            ("share:deliveries:China@2021..2025", true),
            ("discount:Russia@end", true),
            ("mean:embargo:world@2021..2030", true),
            ("support:Russia@end", false),
            ("influence:Russia@end", false),
            ("unrest:world@end", false),
            ("deliveries:Russia@end", false),
        ] {
            assert_eq!(parse(text).is_share(), share, "{text}");
        }
        assert!(
            Outcome::parse("first_ahead:Russia>China", &s)
                .unwrap()
                .is_quarter()
        );
        assert!(Outcome::parse("ever_ahead:Russia>China@end", &s).is_ok());
        for (bad, says) in [
            ("rolling_share:Rusia@2030Q4", "suppliers are Russia"),
            ("rolling_shares:Russia@2030Q4", "metrics are"),
            ("rolling_share:Russia@2031Q1", "outside the run"),
            ("rolling_share:world@end", "no supplier `world`"),
            ("unrest:Russia@end", "belongs to world"),
            (
                "median:unrest:world@end",
                "use mean, sum, max, min, share or cv",
            ),
            ("share:support:Russia@end", "share needs a supplier's flow"),
            ("rolling_share:Russia", "expected METRIC:ENTITY@WHEN"),
            (
                "ahead:China>India@end",
                "not among the scenario's compared pairs",
            ),
            ("rolling_share:Russia@2030..2029", "ends before it starts"),
            ("cv:support:Russia@2022..2023", "cv needs a flow"),
            (
                "cv:imports:buyer@2022Q2..2023Q4",
                "the span must run from a first quarter",
            ),
            (
                "cv:imports:buyer@2022Q1..2023Q3",
                "write years, such as 2016..2020",
            ),
        ] {
            let err = Outcome::parse(bad, &s).unwrap_err();
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn values_match_a_hand_computation_from_the_quarters() {
        let s = baseline();
        let texts = [
            "rolling_share:Russia@end",
            "mean:support:China@2022..2023",
            "sum:deliveries:Russia@2022",
            "max:unrest:world@start..end",
            "first_ahead:Russia>China",
            "share:deliveries:China@2021..2022",
        ];
        let outcomes = parse_all(&texts, &s);
        let mut set = OutcomeSet::new(outcomes, &s);
        let mut quarters = Vec::new();
        let mut deliveries: Vec<Vec<f64>> = Vec::new();
        let mut sim = Simulator::new(&s);
        for run in 0..3 {
            quarters.clear();
            deliveries.clear();
            sim.run(&mut run_rng(s.seed(), run), &mut |v: &QuarterView<'_>| {
                set.observe(v);
                deliveries.push(v.deliveries.to_vec());
                quarters.push((
                    v.rolling_share[0],
                    v.rolling_share[1],
                    v.support[1],
                    v.deliveries[0],
                    v.unrest,
                ));
            });
            let values = set.values();
            assert_eq!(values[0], quarters[39].0);
            let china: f64 = quarters[4..12].iter().map(|q| q.2).sum::<f64>() / 8.0;
            assert!((values[1] - china).abs() < 1e-12);
            let russia: f64 = quarters[4..8].iter().map(|q| q.3).sum();
            assert!((values[2] - russia).abs() < 1e-9);
            let most = quarters.iter().map(|q| q.4).fold(0.0, f64::max);
            assert_eq!(values[3], most);
            let first = quarters
                .iter()
                .position(|q| q.0 > q.1)
                .map_or(f64::NAN, |t| t as f64);
            assert_eq!(values[4].to_bits(), first.to_bits());
        }
    }

    /// Two runs stepped together and observed by a set and its twin (each
    /// step read once for both), or by two sets built apart (observed in
    /// turn), give each run's values as a set observing it alone.
    #[test]
    fn twins_observe_a_pair_as_sets_observe_runs_alone() {
        let s = baseline();
        let texts = [
            "rolling_share:Russia@end",
            "mean:support:China@2022..2023",
            "sum:deliveries:Russia@2022",
            "max:embargo:world@start..end",
            "first_ahead:Russia>China",
            "first_ahead:India>China",
            "share:deliveries:China@2021..2022",
            "cv:imports:buyer@2021..2025",
            "min:unrest:world@2024..2026",
        ];
        let outcomes = parse_all(&texts, &s);
        let alone = |run: u64| {
            let mut set = OutcomeSet::new(outcomes.clone(), &s);
            Simulator::new(&s).run(&mut run_rng(s.seed(), run), &mut set);
            set.values().iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        let first = OutcomeSet::new(outcomes.clone(), &s);
        for twins in [true, false] {
            let mut set_a = first.clone();
            let mut set_b = if twins {
                first.twin()
            } else {
                OutcomeSet::new(outcomes.clone(), &s)
            };
            let (mut sim_a, mut sim_b) = (Simulator::new(&s), Simulator::new(&s));
            for run in (0..8).step_by(2) {
                Simulator::run_two(
                    &mut sim_a,
                    &mut sim_b,
                    &mut run_rng(s.seed(), run),
                    &mut run_rng(s.seed(), run + 1),
                    &mut |a: &QuarterView<'_>, b: &QuarterView<'_>| {
                        set_a.observe_two(&mut set_b, a, b)
                    },
                );
                let bits =
                    |set: &OutcomeSet| set.values().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&set_a), alone(run), "run {run}, twins {twins}");
                assert_eq!(
                    bits(&set_b),
                    alone(run + 1),
                    "run {}, twins {twins}",
                    run + 1
                );
            }
        }
    }

    #[test]
    fn cv_is_the_lumpiness_that_data_computes_from_annual_sums() {
        use crate::data::{Grouping, Imports, Years};
        let s = baseline();
        let texts = [
            "cv:imports:buyer@2021..2025",
            "cv:deliveries:China@2026..2030",
            "cv:imports:buyer@2024",
        ];
        let outcomes = parse_all(&texts, &s);
        let mut set = OutcomeSet::new(outcomes, &s);
        let mut sim = Simulator::new(&s);
        for run in 0..3 {
            let mut imports = Vec::new();
            let mut china = Vec::new();
            sim.run(&mut run_rng(s.seed(), run), &mut |v: &QuarterView<'_>| {
                set.observe(v);
                imports.push(v.imports);
                china.push(v.deliveries[1]);
            });
            // Annual sums by hand, then the population CV (divisor n).
            let annual = |q: &[f64], first: usize, years: usize| -> Vec<f64> {
                (0..years)
                    .map(|y| q[first + 4 * y..first + 4 * y + 4].iter().sum())
                    .collect()
            };
            let cv = |x: &[f64]| {
                let n = x.len() as f64;
                let mean = x.iter().sum::<f64>() / n;
                let var = x.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
                var.sqrt() / mean
            };
            let totals = annual(&imports, 0, 5);
            let values = set.values();
            assert!((values[0] - cv(&totals)).abs() < 1e-12, "{values:?}");
            assert!((values[1] - cv(&annual(&china, 20, 5))).abs() < 1e-12);
            // One year has no spread.
            assert_eq!(values[2], 0.0);
            // The same annual totals written as a SIPRI extract give the same
            // lumpiness through data::Grouped::lumpiness.
            let mut csv = String::from("year,supplier,tiv_millions\n");
            for (y, total) in totals.iter().enumerate() {
                csv += &format!("{},China,{total}\n", 2021 + y);
            }
            let grouping = Grouping::new([("China", ["China"])], None).unwrap();
            let lumpiness = Imports::from_reader(csv.as_bytes(), "x".as_ref(), None)
                .unwrap()
                .group(&grouping)
                .lumpiness(Years::new(2021, 2025).unwrap())
                .unwrap();
            assert!((values[0] - lumpiness.total_cv).abs() < 1e-12);
        }
        // Nothing delivered (India unavailable: no orders, and what was due
        // is cancelled): the CV is undefined, as data's is.
        let none = load_baseline(&["suppliers.India.availability=0".into()])
            .unwrap()
            .scenario;
        let outcome = Outcome::parse("cv:deliveries:India@2021..2030", &none).unwrap();
        let mut set = OutcomeSet::new(vec![outcome], &none);
        Simulator::new(&none).run(&mut run_rng(1, 0), &mut set);
        assert!(set.values()[0].is_nan());
    }
}
