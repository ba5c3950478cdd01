//! The catalogue of metrics: every output a run records, defined once.
//!
//! One declarative table (the `catalogue!` invocation below) lists each
//! metric with its scope (the world, the buyer, each supplier, each compared
//! pair of suppliers), its name in files, how it is summarised ([`Kind`]),
//! its unit, what it means, and how it is read from a quarter's
//! [`QuarterView`]. The recorder, `summary.csv`, `runs.csv`, the headline,
//! the plots, the outcomes of experiments and the manifest all iterate this
//! table, and the summary's storage slots are assigned from it, so adding a
//! metric is a one-row change. [`fingerprint`] identifies the table (and the
//! model versions) in state files, so a checkpoint or shard written with
//! another catalogue is refused instead of being read into the wrong slots.

use sha2::{Digest, Sha256};

use crate::engine::QuarterView;
use crate::model::ModelVersion;
use crate::stats::Binning;

/// Whose metric it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The world: one value per quarter.
    World,
    /// The buyer: one value per quarter.
    Buyer,
    /// One value per supplier per quarter.
    Supplier,
    /// One value per compared pair of suppliers per quarter.
    Pair,
}

/// How a metric is summarised across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A quantity in [0, 1]: unit bins, percentiles within 0.0005.
    Unit,
    /// A non-negative unbounded quantity: log-linear bins, 0.78% relative error.
    Positive,
    /// A yes/no outcome: exact counts; the mean is its probability.
    Event,
}

impl Kind {
    /// The binning of a binned kind (`None` for events, which are counted).
    pub fn binning(self) -> Option<Binning> {
        match self {
            Kind::Unit => Some(Binning::Unit),
            Kind::Positive => Some(Binning::Positive),
            Kind::Event => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Unit => "unit",
            Kind::Positive => "positive",
            Kind::Event => "event",
        }
    }
}

/// Whose value a metric is, in a study: the scope with its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// The world.
    World,
    /// The buyer.
    Buyer,
    /// The supplier at this index.
    Supplier(usize),
    /// An ordered pair of suppliers `(a, b)`, written `a>b`.
    Pair(usize, usize),
}

impl Entity {
    /// The scope of this entity.
    pub fn scope(self) -> Scope {
        match self {
            Entity::World => Scope::World,
            Entity::Buyer => Scope::Buyer,
            Entity::Supplier(_) => Scope::Supplier,
            Entity::Pair(..) => Scope::Pair,
        }
    }

    /// The indices a metric of this entity is read with.
    #[inline]
    pub fn indices(self) -> (usize, usize) {
        match self {
            Entity::World | Entity::Buyer => (0, 0),
            Entity::Supplier(i) => (i, 0),
            Entity::Pair(a, b) => (a, b),
        }
    }
}

/// Whether an event metric records the quarter's state or whether it has
/// held at any quarter so far in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accumulate {
    /// This quarter's value.
    Now,
    /// 1 from the first quarter the value is 1 on (a cumulative probability).
    Ever,
}

/// `a / b`, or NaN (undefined) when `b` is not positive.
#[inline(always)]
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// `x` where `defined`, NaN (undefined) elsewhere.
#[inline(always)]
fn when(defined: bool, x: f64) -> f64 {
    if defined { x } else { f64::NAN }
}

macro_rules! catalogue {
    ($($scope:ident: [$($id:ident => $name:literal, $kind:ident, $acc:ident, $unit:literal, $desc:literal,
        |$v:ident, $i:ident, $j:ident| $read:expr;)+])+) => {
        /// A metric of the catalogue: what a run records each quarter.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MetricId { $($(#[doc = $desc] $id,)+)+ }

        impl MetricId {
            /// Every metric, in output order: world, buyer, supplier, pair.
            pub const ALL: &'static [MetricId] = &[$($(MetricId::$id,)+)+];

            /// Its scope.
            pub fn scope(self) -> Scope {
                match self { $($(MetricId::$id => Scope::$scope,)+)+ }
            }
            /// Its name in files (`summary.csv`, `runs.csv`, outcomes).
            pub fn name(self) -> &'static str {
                match self { $($(MetricId::$id => $name,)+)+ }
            }
            /// How it is summarised.
            pub fn kind(self) -> Kind {
                match self { $($(MetricId::$id => Kind::$kind,)+)+ }
            }
            /// Whether an event is this quarter's state or "ever so far".
            pub fn accumulate(self) -> Accumulate {
                match self { $($(MetricId::$id => Accumulate::$acc,)+)+ }
            }
            /// Its unit, for axis labels and documentation.
            pub fn unit(self) -> &'static str {
                match self { $($(MetricId::$id => $unit,)+)+ }
            }
            /// What it means.
            pub fn description(self) -> &'static str {
                match self { $($(MetricId::$id => $desc,)+)+ }
            }
            /// Its value in quarter `v` (NaN where undefined); `i` is the
            /// supplier (or a pair's first supplier), `j` a pair's second.
            /// Events read 0 or 1.
            #[inline(always)]
            pub fn read(self, v: &QuarterView<'_>, i: usize, j: usize) -> f64 {
                let _ = (i, j);
                match self { $($(MetricId::$id => { let $v = v; let $i = i; let $j = j; let _ = ($i, $j); $read },)+)+ }
            }
        }

        /// Metrics of each scope, in output order.
        pub mod scope {
            use super::MetricId;
            $(
                #[allow(non_upper_case_globals, missing_docs)]
                pub const $scope: &[MetricId] = &[$(MetricId::$id,)+];
            )+
        }
    };
}

catalogue! {
    World: [
        Unrest => "unrest", Unit, Now, "0-1", "Unrest u_t (0 calm, 1 civil war).",
            |v, _i, _j| v.unrest;
        Pressure => "pressure", Unit, Now, "0-1", "International pressure p_t.",
            |v, _i, _j| v.pressure;
        Embargo => "embargo", Event, Now, "probability", "Whether a UN arms embargo is in force (its mean is the probability).",
            |v, _i, _j| v.embargo as u8 as f64;
    ]
    Buyer: [
        Budget => "budget", Positive, Now, "TIV millions", "The buyer's budget B_t this quarter.",
            |v, _i, _j| v.budget;
        Imports => "imports", Positive, Now, "TIV millions", "Arms delivered to the buyer this quarter, from all suppliers.",
            |v, _i, _j| v.imports;
        Outside => "outside", Unit, Now, "share", "The outside option's share of what was awarded this quarter (undefined when nothing was).",
            |v, _i, _j| v.outside;
        Hhi => "hhi", Unit, Now, "0-1", "Concentration (Herfindahl-Hirschman index) of the installed stock.",
            |v, _i, _j| when(v.base_defined, v.hhi);
    ]
    Supplier: [
        Orders => "orders", Positive, Now, "TIV millions", "Orders placed with the supplier this quarter.",
            |v, i, _j| v.orders[i];
        OrderShare => "order_share", Unit, Now, "share", "Its share of this quarter's orders (over runs that ordered).",
            |v, i, _j| ratio(v.orders[i], v.total_orders);
        Deliveries => "deliveries", Positive, Now, "TIV millions", "Arms it delivered this quarter (what SIPRI counts).",
            |v, i, _j| v.deliveries[i];
        RollingShare => "rolling_share", Unit, Now, "share", "Its share of the last 20 quarters' deliveries (SIPRI's five-year share).",
            |v, i, _j| when(v.rolling_defined, v.rolling_share[i]);
        BaseShare => "base_share", Unit, Now, "share", "Its share of the installed stock.",
            |v, i, _j| when(v.base_defined, v.base_share[i]);
        Backlog => "backlog", Positive, Now, "TIV millions", "Its order book: ordered and not yet delivered.",
            |v, i, _j| v.backlog[i];
        Support => "support", Unit, Now, "0-1", "Its support stance: 0 condemns, 1 unconditional.",
            |v, i, _j| v.support[i];
        Discount => "discount", Unit, Now, "share of price", "Its price discount.",
            |v, i, _j| v.discount[i];
        Influence => "influence", Unit, Now, "0-1", "Influence: installed share times support.",
            |v, i, _j| when(v.base_defined, v.base_share[i] * v.support[i]);
    ]
    Pair: [
        Ahead => "ahead", Event, Now, "probability", "Whether A's rolling share is above B's this quarter.",
            |v, i, j| (v.rolling_defined && v.rolling_share[i] > v.rolling_share[j]) as u8 as f64;
        EverAhead => "ever_ahead", Event, Ever, "probability", "Whether A's rolling share has been above B's at any quarter so far.",
            |v, i, j| (v.rolling_defined && v.rolling_share[i] > v.rolling_share[j]) as u8 as f64;
    ]
}

impl MetricId {
    /// Looks a metric up by its file name.
    pub fn from_name(name: &str) -> Option<MetricId> {
        MetricId::ALL.iter().copied().find(|m| m.name() == name)
    }
}

/// A short, stable identifier of the catalogue and the model versions: a
/// state file records it, and one written under another catalogue or model
/// set is refused.
pub fn fingerprint() -> String {
    let mut hash = Sha256::new();
    for m in MetricId::ALL {
        hash.update(
            format!(
                "{:?}:{}:{}:{:?};",
                m.scope(),
                m.name(),
                m.kind().word(),
                m.accumulate()
            )
            .as_bytes(),
        );
    }
    for v in ModelVersion::ALL {
        hash.update(v.name().as_bytes());
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Calls `sink(metric, entity, value)` for every metric of the catalogue in
/// quarter `v`, in output order: world, buyer, each supplier's metrics, each
/// pair's. `ever` holds a run's "ever so far" flags (one per pair and
/// cumulative pair metric); quarter 0 clears them. The one traversal of the
/// catalogue, shared by the recorder, `runs.csv` and outcomes.
#[inline(always)]
pub fn for_each_value(
    v: &QuarterView<'_>,
    pairs: &[(usize, usize)],
    ever: &mut [bool],
    mut sink: impl FnMut(MetricId, Entity, f64),
) {
    if v.quarter == 0 {
        ever.fill(false);
    }
    for &m in scope::World {
        sink(m, Entity::World, m.read(v, 0, 0));
    }
    for &m in scope::Buyer {
        sink(m, Entity::Buyer, m.read(v, 0, 0));
    }
    for i in 0..v.support.len() {
        for &m in scope::Supplier {
            sink(m, Entity::Supplier(i), m.read(v, i, 0));
        }
    }
    let mut flag = 0;
    for &(a, b) in pairs {
        for &m in scope::Pair {
            let mut x = m.read(v, a, b);
            if m.accumulate() == Accumulate::Ever {
                ever[flag] |= x == 1.0;
                x = ever[flag] as u8 as f64;
                flag += 1;
            }
            sink(m, Entity::Pair(a, b), x);
        }
    }
}

/// How many "ever so far" flags [`for_each_value`] needs for `pairs` pairs.
pub fn ever_flags(pairs: usize) -> usize {
    pairs
        * scope::Pair
            .iter()
            .filter(|m| m.accumulate() == Accumulate::Ever)
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_scopes_in_order() {
        let mut names: Vec<&str> = MetricId::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MetricId::ALL.len());
        let order = |s: Scope| {
            [Scope::World, Scope::Buyer, Scope::Supplier, Scope::Pair]
                .iter()
                .position(|&x| x == s)
        };
        assert!(
            MetricId::ALL
                .windows(2)
                .all(|w| order(w[0].scope()) <= order(w[1].scope()))
        );
        for &m in MetricId::ALL {
            assert_eq!(MetricId::from_name(m.name()), Some(m));
            assert!(m.kind() == Kind::Event || m.accumulate() == Accumulate::Now);
        }
    }

    #[test]
    fn the_fingerprint_is_stable_and_short() {
        assert_eq!(fingerprint(), fingerprint());
        assert_eq!(fingerprint().len(), 16);
    }
}
