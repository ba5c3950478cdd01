//! Model v2 (MODEL.md, docs/model.md): an order book with a delivery lag,
//! committed shares, a dependence ceiling, an outside option, graded and
//! bounded gradient following of stances and discounts, strategic sale value
//! and a veto propensity of its own.
//!
//! Randomness: at the start of a run the run's stream keys three sub-streams
//! (ChaCha8), one per purpose: the world (each quarter one unrest shock, then
//! one budget shock), contracts (count, then each contract's size and award)
//! and the Security Council (the vote, then one draw per veto holder). Each
//! purpose draws the same number of values whatever the others did, so two
//! scenarios compared with common random numbers share their unrest and
//! budget paths exactly and their contracts as far as their choices allow.
//! No draw depends on a parameter's value being zero or not (a held stance
//! draws nothing either way: v2's adaptation draws nothing at all).

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

use super::{QuarterView, RollingWindow, logistic, logit, shares_of};
use crate::model::{
    BuyerParam as B, Param, Params, Procurement, Scenario, SupplierParam as S, Target,
    WorldParam as W,
};

/// Slots of the order book's ring buffer: enough for the longest delivery
/// profile a scenario can declare (`delivery_start` + `delivery_quarters`).
const PIPELINE: usize = 82;

/// One run's state and scratch buffers, reusable across runs of a scenario.
#[derive(Debug, Clone)]
pub struct Simulator<'s> {
    scenario: &'s Scenario,
    world: Params<W>,
    buyer: Params<B>,
    traits: Vec<Params<S>>,
    world_rng: ChaCha8Rng,
    contracts_rng: ChaCha8Rng,
    council_rng: ChaCha8Rng,
    latent: f64,
    latent_mean: f64,
    unrest: f64,
    budget_now: f64,
    embargo_next_quarter: bool,
    contracts: Option<Poisson<f64>>,
    support: Vec<f64>,
    discount: Vec<f64>,
    /// Availability with the embargo's `(1 - k_i)` folded in, and its log.
    available: Vec<f64>,
    ln_available: Vec<f64>,
    stocks: Vec<f64>,
    orders: Vec<f64>,
    deliveries: Vec<f64>,
    /// The order book `O_i`: ordered (or known backlog), not yet delivered.
    backlog: Vec<f64>,
    /// Deliveries due in future quarters from orders placed so far:
    /// `pipeline[(t % PIPELINE) * n + i]`.
    pipeline: Vec<f64>,
    /// Deliveries of the scenario's initial backlog, `[t * n + i]` for each
    /// quarter of the horizon (constant across runs).
    scheduled: Vec<f64>,
    /// Each supplier's whole known backlog, delivered within the horizon or not.
    known: Vec<f64>,
    window: RollingWindow,
    committed: Vec<f64>,
    committed_share: Vec<f64>,
    base_share: Vec<f64>,
    outside_share: f64,
    utility: Vec<f64>,
    weight: Vec<f64>,
    suffix: Vec<f64>,
    next_event: usize,
    quarter: u32,
}

impl<'s> Simulator<'s> {
    /// A simulator for `scenario`; call [`Simulator::reset`] before each run.
    pub fn new(scenario: &'s Scenario) -> Self {
        let n = scenario.suppliers.len();
        let horizon = scenario.quarters as usize;
        let mut scheduled = vec![0.0; horizon * n];
        let mut known = vec![0.0; n];
        for entry in &scenario.backlog {
            let quarters = (entry.last - entry.first + 1) as f64;
            for t in entry.first..=entry.last.min(horizon.saturating_sub(1) as u32) {
                scheduled[t as usize * n + entry.supplier] += entry.value / quarters;
            }
            known[entry.supplier] += entry.value;
        }
        Simulator {
            scenario,
            world: scenario.world.clone(),
            buyer: scenario.buyer.clone(),
            traits: scenario
                .suppliers
                .iter()
                .map(|s| s.params.clone())
                .collect(),
            world_rng: ChaCha8Rng::seed_from_u64(0),
            contracts_rng: ChaCha8Rng::seed_from_u64(0),
            council_rng: ChaCha8Rng::seed_from_u64(0),
            latent: 0.0,
            latent_mean: 0.0,
            unrest: 0.0,
            budget_now: 0.0,
            embargo_next_quarter: false,
            contracts: None,
            support: vec![0.0; n],
            discount: vec![0.0; n],
            available: vec![0.0; n],
            ln_available: vec![0.0; n],
            stocks: vec![0.0; n],
            orders: vec![0.0; n],
            deliveries: vec![0.0; n],
            backlog: vec![0.0; n],
            pipeline: vec![0.0; PIPELINE * n],
            scheduled,
            known,
            window: RollingWindow::new(n),
            committed: vec![0.0; n],
            committed_share: vec![0.0; n],
            base_share: vec![0.0; n],
            outside_share: f64::NAN,
            utility: vec![0.0; n],
            weight: vec![0.0; n],
            suffix: vec![0.0; n],
            next_event: 0,
            quarter: 0,
        }
    }

    /// The scenario this simulator runs.
    pub fn scenario(&self) -> &'s Scenario {
        self.scenario
    }

    /// Puts the simulator in the initial state of a run (MODEL.md section 3,
    /// last paragraph), keying its sub-streams from `rng`.
    pub fn reset<R: RngCore + ?Sized>(&mut self, rng: &mut R) {
        self.world_rng = ChaCha8Rng::seed_from_u64(rng.next_u64());
        self.contracts_rng = ChaCha8Rng::seed_from_u64(rng.next_u64());
        self.council_rng = ChaCha8Rng::seed_from_u64(rng.next_u64());
        let sc = self.scenario;
        let n = sc.suppliers.len();
        self.quarter = 0;
        self.next_event = 0;
        self.embargo_next_quarter = false;
        self.world.clone_from(&sc.world);
        self.buyer.clone_from(&sc.buyer);
        for (traits, supplier) in self.traits.iter_mut().zip(&sc.suppliers) {
            traits.clone_from(&supplier.params);
        }
        self.pipeline.fill(0.0);
        for (i, supplier) in sc.suppliers.iter().enumerate() {
            let p = &supplier.params;
            self.support[i] = p[S::Support];
            self.discount[i] = p[S::Discount];
            self.stocks[i] = p[S::Stock];
            // The order book in steady state: as if orders had come at the
            // recent delivery rate every quarter before the start, the
            // pipeline holds, for quarter t, the parts of those past orders
            // still due then: one for each lag l of the profile with l > t.
            let rate = p[S::RecentDeliveries];
            let (first, parts) = (
                p[S::DeliveryStart] as usize,
                p[S::DeliveryQuarters] as usize,
            );
            let last = first + parts - 1;
            let mut on_order = 0.0;
            for t in 0..=last {
                let due = parts.min(last.saturating_sub(t));
                let amount = rate * due as f64 / parts as f64;
                self.pipeline[t * n + i] = amount;
                on_order += amount;
            }
            self.backlog[i] = on_order + self.known[i];
        }
        self.window
            .fill(|i| sc.suppliers[i].params[S::RecentDeliveries]);
        self.refresh_derived();
        self.latent = self.latent_mean;
        self.unrest = logistic(self.latent);
    }

    /// Recomputes what is derived from parameters an event may have changed.
    fn refresh_derived(&mut self) {
        self.latent_mean = logit(self.world[W::UnrestMean]);
        self.contracts = Poisson::new(self.buyer[B::ContractsPerQuarter]).ok();
        let embargo = self.world.is_set(W::Embargo);
        for (i, traits) in self.traits.iter().enumerate() {
            let mut available = traits[S::Availability];
            if embargo {
                available *= 1.0 - traits[S::EmbargoCompliance];
            }
            self.available[i] = available;
            // ln 0 = -inf: an unavailable supplier is impossible, not unlikely.
            self.ln_available[i] = available.ln();
            self.discount[i] = self.discount[i].clamp(0.0, traits[S::MaxDiscount]);
        }
    }

    /// Step 1: the pending embargo, then this quarter's events in file order.
    fn apply_events(&mut self, t: u32) {
        let mut changed = false;
        if self.embargo_next_quarter {
            self.embargo_next_quarter = false;
            self.world[W::Embargo] = 1.0;
            changed = true;
        }
        let events = &self.scenario.events;
        while let Some(event) = events.get(self.next_event).filter(|e| e.quarter == t) {
            self.next_event += 1;
            changed = true;
            match event.target {
                Target::World(p) => self.world.apply(p, event.op, event.value),
                Target::Buyer(p) => self.buyer.apply(p, event.op, event.value),
                Target::Supplier(i, S::Support) => {
                    self.support[i] = S::Support
                        .domain()
                        .clamp(event.op.apply(self.support[i], event.value))
                }
                Target::Supplier(i, S::Discount) => {
                    self.discount[i] = event.op.apply(self.discount[i], event.value)
                }
                Target::Supplier(i, p) => self.traits[i].apply(p, event.op, event.value),
            }
        }
        if changed {
            self.refresh_derived();
        }
    }

    /// Simulates the next quarter (MODEL.md section 3, steps 1-11) and
    /// returns its outputs.
    pub fn step(&mut self) -> QuarterView<'_> {
        let t = self.quarter;
        self.quarter += 1;
        self.apply_events(t);
        let n = self.support.len();

        // 2. Unrest.
        let rho = self.world[W::UnrestPersistence];
        let eps: f64 = self.world_rng.sample(StandardNormal);
        self.latent = rho * self.latent
            + (1.0 - rho) * self.latent_mean
            + self.world[W::UnrestVolatility] * eps;
        let u = logistic(self.latent);
        self.unrest = u;

        // 3. Pressure; the impulse lasts one quarter.
        let p = ((1.0 - self.world[W::PressureDecay]) * self.world[W::Pressure]
            + self.world[W::PressureFromUnrest] * u
            + self.world[W::PressureImpulse])
            .clamp(0.0, 1.0);
        self.world[W::Pressure] = p;
        self.world[W::PressureImpulse] = 0.0;

        // 4. Budget.
        let s_b = self.buyer[B::BudgetVolatility];
        let eps: f64 = self.world_rng.sample(StandardNormal);
        let budget = self.buyer[B::Budget]
            * (s_b * eps - 0.5 * s_b * s_b).exp()
            * (1.0 + self.buyer[B::BudgetUnrest] * u)
            * self.buyer[B::BudgetMultiplier];
        self.budget_now = budget;

        // 5. Market view: committed shares, what is installed plus what is on order.
        for ((c, &s), &o) in self
            .committed
            .iter_mut()
            .zip(&self.stocks)
            .zip(&self.backlog)
        {
            *c = s + o;
        }
        shares_of(&self.committed, &mut self.committed_share);

        // 6. Utilities, the outside option, and choice weights shifted by the maximum.
        let tau = self.buyer[B::Temperature];
        let support_value =
            self.buyer[B::SupportWeight] * (1.0 + self.buyer[B::IsolationWeight] * p);
        let outside = self.buyer[B::OutsideOption];
        let mut shift = outside;
        for i in 0..n {
            let v = self.utility_of(i, self.support[i], self.discount[i], support_value);
            self.utility[i] = v;
            shift = shift.max(v);
        }
        let mut outside_weight = 0.0;
        let mut total = 0.0;
        if shift > f64::NEG_INFINITY {
            outside_weight = ((outside - shift) / tau).exp();
            total = outside_weight;
            for (w, &v) in self.weight.iter_mut().zip(&self.utility) {
                *w = ((v - shift) / tau).exp();
                total += *w;
            }
        } else {
            // Nothing is available and the outside option is off.
            self.weight.fill(0.0);
        }

        // 7. Orders, into the order book.
        self.orders.fill(0.0);
        let mut outside_award = 0.0;
        if total > 0.0 {
            match self.scenario.procurement {
                Procurement::Expected => {
                    let scale = budget / total;
                    for (order, &w) in self.orders.iter_mut().zip(&self.weight) {
                        *order = w * scale;
                    }
                    outside_award = outside_weight * scale;
                }
                Procurement::Contracts => {
                    outside_award = self.award_contracts(budget, outside_weight, total);
                }
            }
        }
        let awarded = outside_award + self.orders.iter().sum::<f64>();
        self.outside_share = if awarded > 0.0 {
            outside_award / awarded
        } else {
            f64::NAN
        };
        for i in 0..n {
            let order = self.orders[i];
            if order > 0.0 {
                let first = self.traits[i][S::DeliveryStart] as usize;
                let parts = self.traits[i][S::DeliveryQuarters] as usize;
                let part = order / parts as f64;
                // The ring's slots for lags first.. in turn, wrapping by
                // comparison rather than a division per slot.
                let mut slot = (t as usize + first) % PIPELINE;
                for _ in 0..parts {
                    self.pipeline[slot * n + i] += part;
                    slot += 1;
                    if slot == PIPELINE {
                        slot = 0;
                    }
                }
                self.backlog[i] += order;
            }
        }

        // 8. Deliveries, cancelled while a supplier is unavailable; stocks.
        let slot = (t as usize % PIPELINE) * n;
        let keep = 1.0 - self.buyer[B::Depreciation];
        for i in 0..n {
            let mut due = std::mem::take(&mut self.pipeline[slot + i]);
            if let Some(known) = self.scheduled.get(t as usize * n + i) {
                due += known;
            }
            self.backlog[i] = (self.backlog[i] - due).max(0.0);
            let delivered = if self.available[i] > 0.0 { due } else { 0.0 };
            self.deliveries[i] = delivered;
            self.stocks[i] = keep * self.stocks[i] + delivered;
        }
        self.window.push(&self.deliveries);

        // 9. Supplier adaptation.
        self.adapt(u, p, support_value, outside_weight, shift);

        // 10. Embargo vote, in force from the next quarter.
        if !self.world.is_set(W::Embargo) {
            let vote = (self.world[W::VoteBase] + self.world[W::VoteUnrestPressure] * u * p)
                .clamp(0.0, 1.0);
            if self.council_rng.random::<f64>() < vote {
                let mut vetoed = false;
                for i in 0..n {
                    let c = &self.traits[i];
                    if c.is_set(S::Veto) {
                        let chance = (c[S::VetoPropensity] + c[S::VetoSlope] * self.support[i])
                            .clamp(0.0, 1.0);
                        vetoed |= self.council_rng.random::<f64>() < chance;
                    }
                }
                self.embargo_next_quarter = !vetoed;
            }
        }

        // 11. Record.
        let base_defined = shares_of(&self.stocks, &mut self.base_share);
        let hhi = self.base_share.iter().map(|s| s * s).sum();
        let total_orders = self.orders.iter().sum();
        let imports = self.deliveries.iter().sum();
        QuarterView {
            quarter: t,
            unrest: u,
            pressure: p,
            embargo: self.world.is_set(W::Embargo),
            budget,
            orders: &self.orders,
            total_orders,
            deliveries: &self.deliveries,
            imports,
            backlog: &self.backlog,
            outside: self.outside_share,
            rolling_share: self.window.shares(),
            rolling_defined: self.window.defined(),
            stocks: &self.stocks,
            base_share: &self.base_share,
            base_defined,
            hhi,
            support: &self.support,
            discount: &self.discount,
        }
    }

    /// The buyer's utility `V_i` (MODEL.md 3.6) of supplier `i` at stance
    /// `sigma` and discount `d`, this quarter.
    #[inline]
    fn utility_of(&self, i: usize, sigma: f64, d: f64, support_value: f64) -> f64 {
        let b = &self.buyer;
        let c = &self.traits[i];
        let s = self.committed_share[i];
        let over = (s - b[B::DependenceCeiling]).max(0.0);
        -b[B::PriceWeight] * c[S::Price] * (1.0 - d)
            + b[B::QualityWeight] * c[S::Quality]
            + support_value * sigma
            + b[B::LockInWeight] * s
            - b[B::DependenceWeight] * over * over
            + self.ln_available[i]
    }

    /// Step 7, contracts mode: `n ~ Poisson(lambda_c)` log-normal contracts,
    /// each awarded by a draw from the choice weights, the outside option
    /// first. Returns the value awarded to the outside option.
    fn award_contracts(&mut self, budget: f64, outside_weight: f64, total: f64) -> f64 {
        let Some(poisson) = self.contracts else {
            return 0.0;
        };
        let count = poisson.sample(&mut self.contracts_rng) as u64;
        let mean_size = budget / self.buyer[B::ContractsPerQuarter];
        let s_v = self.buyer[B::ContractSpread];
        let mut outside = 0.0;
        for _ in 0..count {
            let eps: f64 = self.contracts_rng.sample(StandardNormal);
            let size = mean_size * (s_v * eps - 0.5 * s_v * s_v).exp();
            let mut pick = self.contracts_rng.random::<f64>() * total;
            // Walk the cumulative weights, outside option first; the last
            // option with weight takes any rounding remainder.
            let mut winner = None;
            if outside_weight > 0.0 {
                if pick < outside_weight {
                    outside += size;
                    continue;
                }
                pick -= outside_weight;
            }
            for (i, &w) in self.weight.iter().enumerate() {
                if w > 0.0 {
                    winner = Some(i);
                    if pick < w {
                        break;
                    }
                    pick -= w;
                }
            }
            match winner {
                Some(i) => self.orders[i] += size,
                None => outside += size,
            }
        }
        outside
    }

    /// Step 9: graded, bounded gradient following (MODEL.md 3.9). Suppliers
    /// move in scenario order, each against the others' current weights:
    /// those before it have already moved this quarter (`earlier`), those
    /// after it not yet (`suffix`), and the outside option stays put. The
    /// slopes are analytic; a held stance or discount stays.
    fn adapt(&mut self, u: f64, p: f64, support_value: f64, outside_weight: f64, shift: f64) {
        let n = self.support.len();
        let tau = self.buyer[B::Temperature];
        let price_weight = self.buyer[B::PriceWeight];
        let mut later = 0.0;
        for i in (0..n).rev() {
            self.suffix[i] = later;
            later += self.weight[i];
        }
        let mut scale = Rescale {
            shift,
            outside: outside_weight,
            earlier: 0.0,
        };
        for i in 0..n {
            let c = &self.traits[i];
            let sigma = self.support[i];
            let d = self.discount[i];
            let w = self.weight[i];
            let others = scale.outside + scale.earlier + self.suffix[i];
            let pi = if w > 0.0 { w / (w + others) } else { 0.0 };
            let exporter = 1.0 + c[S::ExportPressure];
            let revenue = exporter * (c[S::Price] * (1.0 - d) - c[S::UnitCost])
                + c[S::StrategicValue] * sigma;
            let threshold = c[S::DetachThreshold];
            let spill = (u - threshold).max(0.0) / (1.0 - threshold);
            let politics = c[S::InfluenceAppetite] * self.committed_share[i]
                - c[S::Reputation] * p
                - c[S::StabilityStake] * u
                - c[S::Spillover] * spill;
            let sensitivity = pi * (1.0 - pi) / tau;
            let slope_sigma =
                sensitivity * support_value * revenue + pi * c[S::StrategicValue] + politics;
            let slope_d =
                sensitivity * price_weight * c[S::Price] * revenue - pi * exporter * c[S::Price];
            if !c.is_set(S::HoldSupport) {
                self.support[i] = bounded_step(
                    sigma,
                    slope_sigma,
                    c[S::StanceSpeed],
                    c[S::StanceScale],
                    1.0,
                );
            }
            if !c.is_set(S::HoldDiscount) {
                self.discount[i] = bounded_step(
                    d,
                    slope_d,
                    c[S::DiscountSpeed],
                    c[S::DiscountScale],
                    c[S::MaxDiscount],
                );
            }
            let moved = self.support[i] != sigma || self.discount[i] != d;
            if moved && w > 0.0 {
                let v = self.utility_of(i, self.support[i], self.discount[i], support_value);
                self.utility[i] = v;
                if v > scale.shift {
                    // Keep every weight at most 1, so none can overflow.
                    let factor = ((scale.shift - v) / tau).exp();
                    scale.shift = v;
                    scale.outside *= factor;
                    scale.earlier *= factor;
                    for j in i + 1..n {
                        self.suffix[j] *= factor;
                        self.weight[j] *= factor;
                    }
                }
                self.weight[i] = ((v - scale.shift) / tau).exp();
            }
            scale.earlier += self.weight[i];
        }
    }
}

/// `x + speed tanh(slope / scale)`, clamped to `[0, top]`: a graded move
/// of at most `speed` (MODEL.md 3.9). A value at a bound that the slope
/// pushes further stays there without evaluating `tanh` (the clamp would
/// give the same bits), which is most suppliers most quarters.
#[inline]
fn bounded_step(x: f64, slope: f64, speed: f64, scale: f64, top: f64) -> f64 {
    if (x <= 0.0 && slope <= 0.0) || (x >= top && slope >= 0.0) {
        return x.clamp(0.0, top);
    }
    (x + speed * (slope / scale).tanh()).clamp(0.0, top)
}

/// The common scale of step 9's choice weights, which a supplier's move can
/// raise above the quarter's maximum utility.
struct Rescale {
    shift: f64,
    outside: f64,
    earlier: f64,
}

#[cfg(test)]
mod tests {
    use crate::engine::{QuarterView, Simulator, run_rng};
    use crate::model::Scenario;
    use crate::scenario::load_str;

    const MINIMAL: &str = include_str!("../../tests/fixtures/minimal_v2.toml");

    /// The two-supplier v2 fixture with `overrides`, its events removed.
    fn scenario(overrides: &[&str]) -> Scenario {
        let text = MINIMAL.split("[[events]]").next().unwrap();
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        load_str(text, "test", "minimal_v2.toml", &overrides)
            .unwrap()
            .scenario
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Owned {
        embargo: bool,
        orders: Vec<f64>,
        deliveries: Vec<f64>,
        backlog: Vec<f64>,
        imports: f64,
        /// Bits, so that an undefined (NaN) share compares equal to itself.
        outside: u64,
        support: Vec<f64>,
        discount: Vec<f64>,
        stocks: Vec<f64>,
    }

    fn quarters(scenario: &Scenario, k: u64) -> Vec<Owned> {
        let mut out = Vec::new();
        Simulator::new(scenario).run(&mut run_rng(scenario.seed(), k), &mut |v: &QuarterView<
            '_,
        >| {
            out.push(Owned {
                embargo: v.embargo,
                orders: v.orders.to_vec(),
                deliveries: v.deliveries.to_vec(),
                backlog: v.backlog.to_vec(),
                imports: v.imports,
                outside: v.outside.to_bits(),
                support: v.support.to_vec(),
                discount: v.discount.to_vec(),
                stocks: v.stocks.to_vec(),
            })
        });
        out
    }

    const SMOOTH: [&str; 1] = ["run.procurement=\"expected\""];

    #[test]
    fn deliveries_lag_orders_by_the_profile() {
        // No pipeline at the start; one supplier, orders every quarter.
        let s = scenario(&[
            SMOOTH[0],
            "suppliers.Alpha.recent_deliveries=0",
            "suppliers.Beta.recent_deliveries=0",
            "suppliers.Alpha.delivery_start=2",
            "suppliers.Alpha.delivery_quarters=3",
            "run.quarters=12",
        ]);
        let qs = quarters(&s, 0);
        for t in 0..12 {
            // Deliveries at t are a third of each order placed 2, 3 and 4 quarters before.
            let expected: f64 = (2..5)
                .filter(|&l| l <= t)
                .map(|l| qs[t - l].orders[0] / 3.0)
                .sum();
            assert!(
                (qs[t].deliveries[0] - expected).abs() <= 1e-12 * expected.max(1.0),
                "quarter {t}: delivered {} expected {expected}",
                qs[t].deliveries[0]
            );
        }
        assert_eq!(qs[0].deliveries[0], 0.0);
        assert_eq!(qs[1].deliveries[0], 0.0);
        // What is ordered and not yet delivered is on the books.
        let ordered: f64 = qs.iter().map(|q| q.orders[0]).sum();
        let delivered: f64 = qs.iter().map(|q| q.deliveries[0]).sum();
        assert!((qs[11].backlog[0] - (ordered - delivered)).abs() < 1e-9);
    }

    #[test]
    fn the_order_book_starts_in_steady_state() {
        // With orders at exactly the recent rate, deliveries stay at that rate.
        let s = scenario(&[
            SMOOTH[0],
            "suppliers.Alpha.recent_deliveries=4",
            "suppliers.Beta.recent_deliveries=6",
            "suppliers.Alpha.hold_support=true",
            "suppliers.Beta.hold_support=true",
            "suppliers.Alpha.hold_discount=true",
            "suppliers.Beta.hold_discount=true",
        ]);
        let first = &quarters(&s, 0)[0];
        // Before any new order arrives (delivery_start 2), quarter 0 delivers
        // exactly the steady rate from past orders.
        assert_eq!(first.deliveries, vec![4.0, 6.0]);
        let qs = quarters(&s, 0);
        assert_eq!(qs[1].deliveries, vec![4.0, 6.0]);
    }

    #[test]
    fn nothing_is_delivered_while_a_supplier_is_unavailable() {
        let s = scenario(&[SMOOTH[0], "suppliers.Beta.availability=0"]);
        for q in quarters(&s, 0) {
            assert_eq!(q.deliveries[1], 0.0);
            assert_eq!(q.orders[1], 0.0);
        }
    }

    #[test]
    fn the_outside_option_takes_its_share_and_lowers_imports() {
        let off = scenario(&[SMOOTH[0]]);
        let on = scenario(&[SMOOTH[0], "buyer.outside_option=1.5"]);
        let (a, b) = (quarters(&off, 0), quarters(&on, 0));
        assert_eq!(f64::from_bits(a[0].outside), 0.0);
        let share = f64::from_bits(b[0].outside);
        assert!(share > 0.3, "{share}");
        let total = |qs: &[Owned]| qs.iter().map(|q| q.imports).sum::<f64>();
        assert!(total(&b) < total(&a));
    }

    #[test]
    fn held_stances_and_discounts_stay_put() {
        let s = scenario(&[
            "suppliers.Alpha.support=0",
            "suppliers.Alpha.hold_support=true",
            "suppliers.Alpha.discount=0.1",
            "suppliers.Alpha.hold_discount=true",
        ]);
        for q in quarters(&s, 3) {
            assert_eq!(q.support[0], 0.0);
            assert_eq!(q.discount[0], 0.1);
        }
    }

    #[test]
    fn stance_moves_are_bounded_by_the_speed() {
        let s = scenario(&["suppliers.Alpha.stance_speed=0.07"]);
        let qs = quarters(&s, 1);
        let mut last = s.suppliers()[0].params()[crate::model::SupplierParam::Support];
        for q in &qs {
            assert!((q.support[0] - last).abs() <= 0.07 + 1e-12);
            last = q.support[0];
        }
    }

    #[test]
    fn extreme_utilities_stay_finite() {
        let s = scenario(&[
            "buyer.temperature=0.01",
            "buyer.support_weight=100",
            "buyer.isolation_weight=100",
            "suppliers.Alpha.stance_speed=1",
            "suppliers.Beta.stance_speed=1",
            "suppliers.Alpha.quality=-100",
        ]);
        for q in quarters(&s, 2) {
            assert!(q.orders.iter().chain(&q.support).all(|x| x.is_finite()));
            assert!(q.stocks.iter().all(|x| x.is_finite() && *x >= 0.0));
        }
    }

    #[test]
    fn runs_replay_exactly_and_differ_between_streams() {
        let s = scenario(&[]);
        assert_eq!(quarters(&s, 5), quarters(&s, 5));
        assert_ne!(quarters(&s, 5), quarters(&s, 6));
        let mut sim = Simulator::new(&s);
        sim.run(&mut run_rng(s.seed(), 1), &mut |_: &QuarterView<'_>| {});
        let mut last = Vec::new();
        sim.run(&mut run_rng(s.seed(), 5), &mut |v: &QuarterView<'_>| {
            last = v.stocks.to_vec()
        });
        assert_eq!(last, quarters(&s, 5).last().unwrap().stocks);
    }
}
