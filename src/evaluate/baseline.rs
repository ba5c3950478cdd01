//! Naive baselines: the forecasts a reviewer tries first, computed from the
//! record before the shock, never simulated.
//!
//! - [`Baseline::Persistence`]: nothing changes; each supplier keeps its
//!   share of the five years before the shock year (SIPRI's window).
//! - [`Baseline::LastYear`]: the shares of the last year before the shock
//!   year in which anything was delivered (the most recent news).
//! - [`Baseline::InstalledBase`]: the shares of the equipment in service at
//!   the shock, every delivery since 1950 depreciated as the scenario
//!   depreciates its stock (spares, training and doctrine tie a buyer to
//!   what it operates).
//!
//! - [`Baseline::ShockAdjusted`]: persistence, with each supplier's share
//!   multiplied by its availability after the timeline's events up to the
//!   shock's quarter (a supplier whose sales the shock cuts by 90% keeps a
//!   tenth of its share), renormalised. It knows what the model knows at the
//!   shock, so a model that beats only the three rules above has learned
//!   nothing the shock itself did not say.
//!
//! Each is a point forecast of every window's shares: its CRPS is its
//! absolute error ([`super::score::crps_point`]).

use super::case::Case;
use crate::data::Years;
use crate::model::{BuyerParam, SupplierParam, Target};

/// A naive forecast rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Baseline {
    /// The five years before the shock year, carried forward.
    Persistence,
    /// The last year with deliveries before the shock year, carried forward.
    LastYear,
    /// The depreciated installed base at the end of the year before the shock.
    InstalledBase,
    /// Persistence scaled by each supplier's availability after the shock.
    ShockAdjusted,
}

/// How many baselines there are.
pub const COUNT: usize = Baseline::ALL.len();

/// The first year of the record counted into the installed base.
pub const RECORD_START: i32 = 1950;

impl Baseline {
    /// Every baseline, in the order tables list them.
    pub const ALL: [Baseline; 4] = [
        Baseline::Persistence,
        Baseline::LastYear,
        Baseline::InstalledBase,
        Baseline::ShockAdjusted,
    ];

    /// The name tables and files use.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Persistence => "persistence",
            Baseline::LastYear => "last_year",
            Baseline::InstalledBase => "installed_base",
            Baseline::ShockAdjusted => "shock_adjusted",
        }
    }

    /// What it forecasts, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Baseline::Persistence => "shares of the five years before the shock, carried forward",
            Baseline::LastYear => "shares of the last year with deliveries before the shock",
            Baseline::InstalledBase => "shares of the depreciated installed base at the shock",
            Baseline::ShockAdjusted => {
                "persistence, each share scaled by the supplier's availability after the shock's \
                 events, renormalised"
            }
        }
    }

    /// Its forecast of each supplier group's share (the case's group
    /// order), or `None` where the record before the shock has no
    /// deliveries to carry forward.
    pub fn forecast(self, case: &Case) -> Option<Vec<f64>> {
        let before = case.before();
        match self {
            Baseline::Persistence => case.record.shares(before).ok().map(|w| w.shares),
            Baseline::LastYear => (before.first()..=before.last())
                .rev()
                .filter_map(|y| Years::new(y, y).ok())
                .find_map(|y| case.record.shares(y).ok())
                .map(|w| w.shares),
            Baseline::InstalledBase => {
                let years = Years::new(RECORD_START.min(before.first()), before.last()).ok()?;
                let delta = case.loaded.scenario.buyer()[BuyerParam::Depreciation];
                case.record
                    .installed_base(years, delta)
                    .ok()
                    .map(|b| b.shares)
            }
            Baseline::ShockAdjusted => {
                let before = Baseline::Persistence.forecast(case)?;
                let scenario = &case.loaded.scenario;
                let mut availability: Vec<f64> = scenario
                    .suppliers()
                    .iter()
                    .map(|s| s.params()[SupplierParam::Availability])
                    .collect();
                // Events are sorted by quarter; those of one quarter keep
                // their file order, as the engine applies them.
                for e in scenario.events() {
                    if e.quarter > case.shock_index() {
                        break;
                    }
                    if let Target::Supplier(i, SupplierParam::Availability) = e.target {
                        availability[i] = e.op.apply(availability[i], e.value).clamp(0.0, 1.0);
                    }
                }
                let scaled: Vec<f64> = before
                    .iter()
                    .zip(&availability)
                    .map(|(s, a)| s * a)
                    .collect();
                let total: f64 = scaled.iter().sum();
                (total > 0.0).then(|| scaled.iter().map(|s| s / total).collect())
            }
        }
    }
}
