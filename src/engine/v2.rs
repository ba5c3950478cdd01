//! Models v2 and v3 (MODEL.md, docs/model.md). v2: an order book with a
//! delivery lag, committed shares, a dependence ceiling, an outside option,
//! graded and bounded gradient following of stances and discounts, strategic
//! sale value and a veto propensity of its own. v3 runs the same quarter with
//! what the case library asked for (docs/model.md section 4): the buyer
//! values a seller's willingness to sell under pressure apart from its
//! backing; holds defer due deliveries (or cancel them) instead of v2's
//! cancellation; money tied to a supplier and windfall orders; the starting
//! pipeline at a share of the steady order book; stances with a quadratic
//! cost of commitment (interior optima) and a stake in stability that backs
//! the state; political traits drawn per run; and no discount adaptation
//! (v2's was inert at every documented value). Every v3 difference sits
//! behind `self.v3`, so a v2 scenario runs v2's arithmetic bit for bit.
//!
//! Randomness: at the start of a run the run's stream keys three sub-streams
//! (ChaCha8), one per purpose: the world (each quarter one unrest shock, then
//! one budget shock), contracts (count, then each contract's size and award)
//! and the Security Council (the vote, then one draw per veto holder). Each
//! purpose draws the same number of values whatever the others did, so two
//! scenarios compared with common random numbers share their unrest and
//! budget paths exactly and their contracts as far as their choices allow.
//! No draw depends on a parameter's value being zero or not (a held stance
//! draws nothing either way: v2's adaptation draws nothing at all). v3 keys
//! a fourth sub-stream, the traits, after the other three, and draws six
//! normals per supplier from it at the start of each run, whatever the
//! spread.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

#[cfg(target_arch = "x86_64")]
use super::Fused;
use super::{
    Divisor, Maths, Portable, QuarterView, RollingWindow, exp, has_fma, logistic, logit, shares_of,
};
use crate::model::ModelVersion;
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
    /// Whether the scenario runs model v3 (otherwise v2).
    v3: bool,
    world: Params<W>,
    buyer: Params<B>,
    traits: Vec<Params<S>>,
    world_rng: ChaCha8Rng,
    contracts_rng: ChaCha8Rng,
    council_rng: ChaCha8Rng,
    /// v3: per-run draws of the suppliers' political traits.
    traits_rng: ChaCha8Rng,
    latent: f64,
    latent_mean: f64,
    unrest: f64,
    budget_now: f64,
    embargo_next_quarter: bool,
    contracts: Option<Poisson<f64>>,
    /// The buyer's temperature `tau`, and each supplier's stance and
    /// discount scales, as divisors (derived from the parameters).
    temperature: Divisor,
    move_scales: Vec<[Divisor; 2]>,
    /// Each supplier's utility terms that hold between events: price
    /// (`-beta_price c_i`, times `1 - d_i` when used) and quality.
    fixed_utility: Vec<[f64; 2]>,
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
    /// v3: deliveries held back by a suspension, still owed.
    deferred: Vec<f64>,
    /// v3: the share of due deliveries each supplier holds back now.
    held_share: Vec<f64>,
    /// v3: what the buyer gains from each supplier's willingness to sell
    /// under this quarter's pressure, `beta_support kappa_iso p w_i`.
    selling: Vec<f64>,
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
    /// Whether steps run their twin compiled with FMA ([`super::has_fma`]);
    /// always false, and unread, where there is no such twin.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fma: bool,
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
            v3: scenario.model() == ModelVersion::V3,
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
            traits_rng: ChaCha8Rng::seed_from_u64(0),
            latent: 0.0,
            latent_mean: 0.0,
            unrest: 0.0,
            budget_now: 0.0,
            embargo_next_quarter: false,
            contracts: None,
            temperature: Divisor::new(1.0),
            move_scales: vec![[Divisor::new(1.0); 2]; n],
            fixed_utility: vec![[0.0; 2]; n],
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
            deferred: vec![0.0; n],
            held_share: vec![0.0; n],
            selling: vec![0.0; n],
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
            fma: has_fma(),
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
        if self.v3 {
            self.traits_rng = ChaCha8Rng::seed_from_u64(rng.next_u64());
        }
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
        if self.v3 {
            self.draw_traits();
            self.deferred.fill(0.0);
        }
        // v2 starts with the whole steady order book; v3 with a share of it.
        self.pipeline.fill(0.0);
        let recent_total: f64 = sc
            .suppliers
            .iter()
            .map(|s| s.params[S::RecentDeliveries])
            .sum();
        for (i, supplier) in sc.suppliers.iter().enumerate() {
            let p = &supplier.params;
            self.support[i] = p[S::Support];
            self.discount[i] = p[S::Discount];
            self.stocks[i] = p[S::Stock];
            if self.v3 {
                self.backlog[i] = self.draw_order_book(i, recent_total) + self.known[i];
                continue;
            }
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
        if self.v3 {
            self.draw_known_schedule();
        }
        self.window
            .fill(|i| sc.suppliers[i].params[S::RecentDeliveries]);
        self.refresh_derived();
        self.latent = self.latent_mean;
        self.unrest = logistic(self.latent);
    }

    /// v3: the order book supplier `i` starts with (docs/model.md 14.1):
    /// orders placed in each of the quarters before the start whose
    /// deliveries reach into the run, each as lumpy as the buyer's own
    /// contracts (a Poisson number with mean `lambda_c r_i / sum r`, each
    /// worth the supplier's mean contract), all scaled by the carryover.
    /// Their mean is the steady book v2 starts with, times the carryover;
    /// a run may start with nothing due from a small supplier, as SIPRI's
    /// record of single years often shows. Returns the book's total.
    fn draw_order_book(&mut self, i: usize, recent_total: f64) -> f64 {
        let p = &self.scenario.suppliers[i].params;
        let rate = p[S::RecentDeliveries];
        let (first, parts) = (
            p[S::DeliveryStart] as usize,
            p[S::DeliveryQuarters] as usize,
        );
        let mean_contracts = self.buyer[B::ContractsPerQuarter] * rate / recent_total;
        let Ok(contracts) = Poisson::new(mean_contracts) else {
            return 0.0;
        };
        let per_contract = rate * self.buyer[B::Carryover] / mean_contracts;
        let n = self.support.len();
        let mut on_order = 0.0;
        // An order placed `lag` quarters before the start delivers its parts
        // at quarters j + first - lag; those at 0 or later are still due.
        for lag in 1..first + parts {
            let order = contracts.sample(&mut self.traits_rng) * per_contract;
            if order == 0.0 {
                continue;
            }
            let part = order / parts as f64;
            for j in 0..parts {
                if let Some(t) = (j + first).checked_sub(lag) {
                    self.pipeline[t * n + i] += part;
                    on_order += part;
                }
            }
        }
        on_order
    }

    /// v3: each known order's schedule (`[[backlog]]`) slips by its own
    /// Poisson number of quarters of mean `backlog_slip` this run: arms
    /// deliveries run late, rarely early. One draw per entry while the mean
    /// is positive.
    fn draw_known_schedule(&mut self) {
        let sc = self.scenario;
        let Ok(slip) = Poisson::new(self.world[W::BacklogSlip]) else {
            return;
        };
        let n = self.support.len();
        let horizon = (self.scheduled.len() / n) as u32;
        self.scheduled.fill(0.0);
        for entry in &sc.backlog {
            let delay = slip.sample(&mut self.traits_rng) as u32;
            let quarters = (entry.last - entry.first + 1) as f64;
            let (first, last) = (entry.first + delay, entry.last + delay);
            for t in first..=last.min(horizon.saturating_sub(1)) {
                self.scheduled[t as usize * n + entry.supplier] += entry.value / quarters;
            }
        }
    }

    /// v3: draws this run's political traits around the scenario's values
    /// (`trait_spread`, docs/model.md): a mean-one log-normal factor for each
    /// cost and appetite, a logit-scale shift for the sale willingness. Six
    /// normals per supplier, drawn whatever the spread, so that scenarios
    /// compared with common random numbers share them.
    fn draw_traits(&mut self) {
        const SCALED: [S; 5] = [
            S::InfluenceAppetite,
            S::StrategicValue,
            S::Reputation,
            S::StabilityStake,
            S::StanceCost,
        ];
        let spread = self.world[W::TraitSpread];
        for traits in &mut self.traits {
            let mut eps = [0.0; 6];
            for e in &mut eps {
                *e = self.traits_rng.sample(StandardNormal);
            }
            if spread == 0.0 {
                continue;
            }
            for (&p, e) in SCALED.iter().zip(eps) {
                traits[p] *= exp(spread * e - 0.5 * spread * spread);
            }
            let w = traits[S::SaleWillingness];
            if w > 0.0 && w < 1.0 {
                traits[S::SaleWillingness] = logistic(logit(w) + spread * eps[5]);
            }
        }
    }

    /// Recomputes what is derived from parameters an event may have changed.
    fn refresh_derived(&mut self) {
        self.latent_mean = logit(self.world[W::UnrestMean]);
        self.contracts = Poisson::new(self.buyer[B::ContractsPerQuarter]).ok();
        self.temperature = Divisor::new(self.buyer[B::Temperature]);
        let b = &self.buyer;
        for ((scales, fixed), traits) in self
            .move_scales
            .iter_mut()
            .zip(&mut self.fixed_utility)
            .zip(&self.traits)
        {
            *scales = [
                Divisor::new(traits[S::StanceScale]),
                Divisor::new(traits[S::DiscountScale]),
            ];
            *fixed = [
                -b[B::PriceWeight] * traits[S::Price],
                b[B::QualityWeight] * traits[S::Quality],
            ];
        }
        let embargo = self.world.is_set(W::Embargo);
        for (i, traits) in self.traits.iter().enumerate() {
            let mut available = traits[S::Availability];
            if embargo {
                available *= 1.0 - traits[S::EmbargoCompliance];
            }
            self.available[i] = available;
            // ln 0 = -inf: an unavailable supplier is impossible, not unlikely.
            self.ln_available[i] = available.ln();
            if self.v3 {
                // A cut in availability restricts new business; what is under
                // contract is held only by a suspension, or in full when the
                // supplier is cut off altogether.
                self.held_share[i] = if available > 0.0 {
                    traits[S::Suspension]
                } else {
                    1.0
                };
                // No adaptation bounds it: an event keeps it in its domain.
                self.discount[i] = S::Discount.domain().clamp(self.discount[i]);
            } else {
                self.discount[i] = self.discount[i].clamp(0.0, traits[S::MaxDiscount]);
            }
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
    /// returns its outputs. Where the processor fuses multiply-add, the
    /// step runs compiled with FMA, `exp` and `tanh` inline (the same bits
    /// either way, see [`Maths`]).
    pub fn step(&mut self) -> QuarterView<'_> {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            #[target_feature(enable = "fma")]
            fn fused<'a>(s: &'a mut Simulator<'_>) -> QuarterView<'a> {
                s.step_with::<Fused>()
            }
            // SAFETY: `fma` is set only where the processor has FMA.
            return unsafe { fused(self) };
        }
        self.step_with::<Portable>()
    }

    /// [`Simulator::step`], evaluating `exp` and `tanh` with `M`. Each step
    /// is a method below, in the model's order; the world's stream draws
    /// unrest's shock before the budget's. The steps that call `exp` or
    /// `tanh` are inlined, so that the FMA twin compiles them with FMA.
    #[inline(always)]
    fn step_with<M: Maths>(&mut self) -> QuarterView<'_> {
        let t = self.quarter;
        self.quarter += 1;
        self.apply_events(t);
        let u = self.move_unrest::<M>();
        let p = self.move_pressure(u);
        let budget = self.draw_budget::<M>(u);
        self.view_market();
        let choice = self.choose::<M>(p);
        self.place_orders::<M>(t, budget, &choice);
        self.deliver(t);
        self.adapt::<M>(u, p, &choice);
        self.vote_on_embargo(u, p);
        self.record(t, u, p, budget)
    }

    /// Simulates the next quarter of two runs, `a`'s and `b`'s, as
    /// [`Simulator::step`] on each would, to the bit: each run takes the
    /// same steps on its own state and streams. The steps alternate between
    /// the runs, and step 9's suppliers move in turn (`a`'s first, `b`'s
    /// first, `a`'s second, ...), so the processor can overlap the two runs'
    /// long chains of dependent operations (each supplier's move waits on
    /// the one before it). The runs may be of different scenarios. Like
    /// [`Simulator::step`], it runs compiled with FMA where it can.
    pub fn step_pair<'a>(a: &'a mut Self, b: &'a mut Self) -> (QuarterView<'a>, QuarterView<'a>) {
        #[cfg(target_arch = "x86_64")]
        if a.fma && b.fma {
            #[target_feature(enable = "fma")]
            fn fused<'a, 's>(
                a: &'a mut Simulator<'s>,
                b: &'a mut Simulator<'s>,
            ) -> (QuarterView<'a>, QuarterView<'a>) {
                Simulator::step_pair_with::<Fused>(a, b)
            }
            // SAFETY: `fma` is set only where the processor has FMA.
            return unsafe { fused(a, b) };
        }
        Self::step_pair_with::<Portable>(a, b)
    }

    /// [`Simulator::step_pair`], evaluating `exp` and `tanh` with `M`.
    #[inline(always)]
    fn step_pair_with<'a, M: Maths>(
        a: &'a mut Self,
        b: &'a mut Self,
    ) -> (QuarterView<'a>, QuarterView<'a>) {
        let (ta, tb) = (a.quarter, b.quarter);
        a.quarter += 1;
        b.quarter += 1;
        a.apply_events(ta);
        b.apply_events(tb);
        let (ua, ub) = (a.move_unrest::<M>(), b.move_unrest::<M>());
        let (pa, pb) = (a.move_pressure(ua), b.move_pressure(ub));
        let (budget_a, budget_b) = (a.draw_budget::<M>(ua), b.draw_budget::<M>(ub));
        a.view_market();
        b.view_market();
        let (choice_a, choice_b) = (a.choose::<M>(pa), b.choose::<M>(pb));
        a.place_orders::<M>(ta, budget_a, &choice_a);
        b.place_orders::<M>(tb, budget_b, &choice_b);
        a.deliver(ta);
        b.deliver(tb);
        let (mut scale_a, mut scale_b) = (a.adapt_begin(&choice_a), b.adapt_begin(&choice_b));
        let (na, nb) = (a.support.len(), b.support.len());
        for i in 0..na.max(nb) {
            if i < na {
                a.adapt_supplier::<M>(i, &mut scale_a, ua, pa, choice_a.support_value);
            }
            if i < nb {
                b.adapt_supplier::<M>(i, &mut scale_b, ub, pb, choice_b.support_value);
            }
        }
        a.vote_on_embargo(ua, pa);
        b.vote_on_embargo(ub, pb);
        (
            a.record(ta, ua, pa, budget_a),
            b.record(tb, ub, pb, budget_b),
        )
    }

    /// Step 2: unrest's latent AR(1) moves by one shock; returns `u_t`.
    #[inline(always)]
    fn move_unrest<M: Maths>(&mut self) -> f64 {
        let rho = self.world[W::UnrestPersistence];
        let eps: f64 = self.world_rng.sample(StandardNormal);
        self.latent = rho * self.latent
            + (1.0 - rho) * self.latent_mean
            + self.world[W::UnrestVolatility] * eps;
        let u = M::logistic(self.latent);
        self.unrest = u;
        u
    }

    /// Step 3: pressure decays, rises with unrest and takes this quarter's
    /// impulse, which lasts one quarter; returns `p_t`.
    fn move_pressure(&mut self, u: f64) -> f64 {
        let p = ((1.0 - self.world[W::PressureDecay]) * self.world[W::Pressure]
            + self.world[W::PressureFromUnrest] * u
            + self.world[W::PressureImpulse])
            .clamp(0.0, 1.0);
        self.world[W::Pressure] = p;
        self.world[W::PressureImpulse] = 0.0;
        p
    }

    /// Step 4: the budget `B_t`, a mean-one log-normal shock on the
    /// scenario's budget, scaled by unrest and the multiplier.
    #[inline(always)]
    fn draw_budget<M: Maths>(&mut self, u: f64) -> f64 {
        let s_b = self.buyer[B::BudgetVolatility];
        let eps: f64 = self.world_rng.sample(StandardNormal);
        let budget = self.buyer[B::Budget]
            * M::exp(s_b * eps - 0.5 * s_b * s_b)
            * (1.0 + self.buyer[B::BudgetUnrest] * u)
            * self.buyer[B::BudgetMultiplier];
        self.budget_now = budget;
        budget
    }

    /// Step 5: committed shares, of what is installed plus what is on order.
    fn view_market(&mut self) {
        for ((c, &s), &o) in self
            .committed
            .iter_mut()
            .zip(&self.stocks)
            .zip(&self.backlog)
        {
            *c = s + o;
        }
        shares_of(&self.committed, &mut self.committed_share);
    }

    /// Step 6: utilities, the outside option, and choice weights shifted by
    /// the largest utility (so none overflows).
    #[inline(always)]
    fn choose<M: Maths>(&mut self, p: f64) -> Choice {
        let n = self.support.len();
        let tau = self.temperature;
        let support_value = if self.v3 {
            // Backing is worth its weight; isolation raises the value of a
            // willing seller instead (the `selling` term).
            let per_willingness = self.buyer[B::SupportWeight] * self.buyer[B::IsolationWeight] * p;
            for (value, traits) in self.selling.iter_mut().zip(&self.traits) {
                *value = per_willingness * traits[S::SaleWillingness];
            }
            self.buyer[B::SupportWeight]
        } else {
            self.buyer[B::SupportWeight] * (1.0 + self.buyer[B::IsolationWeight] * p)
        };
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
            outside_weight = M::exp(tau.divide(outside - shift));
            total = outside_weight;
            for (w, &v) in self.weight.iter_mut().zip(&self.utility) {
                *w = M::exp(tau.divide(v - shift));
                total += *w;
            }
        } else {
            // Nothing is available and the outside option is off.
            self.weight.fill(0.0);
        }
        Choice {
            support_value,
            outside_weight,
            total,
            shift,
        }
    }

    /// Step 7: orders (expected values or contracts), v3's tied and windfall
    /// orders, each into the order book and its delivery profile.
    #[inline(always)]
    fn place_orders<M: Maths>(&mut self, t: u32, budget: f64, choice: &Choice) {
        let n = self.support.len();
        self.orders.fill(0.0);
        let mut outside_award = 0.0;
        if choice.total > 0.0 {
            match self.scenario.procurement {
                Procurement::Expected => {
                    let scale = budget / choice.total;
                    for (order, &w) in self.orders.iter_mut().zip(&self.weight) {
                        *order = w * scale;
                    }
                    outside_award = choice.outside_weight * scale;
                }
                Procurement::Contracts => {
                    outside_award =
                        self.award_contracts::<M>(budget, choice.outside_weight, choice.total);
                }
            }
        }
        let awarded = outside_award + self.orders.iter().sum::<f64>();
        self.outside_share = if awarded > 0.0 {
            outside_award / awarded
        } else {
            f64::NAN
        };
        if self.v3 {
            self.tied_and_windfall_orders();
        }
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
    }

    /// Step 8: deliveries, cancelled (v2) or held (v3) while a supplier is
    /// unavailable; stocks depreciate and take them; the rolling window.
    fn deliver(&mut self, t: u32) {
        let n = self.support.len();
        let slot = (t as usize % PIPELINE) * n;
        let keep = 1.0 - self.buyer[B::Depreciation];
        for i in 0..n {
            let mut due = std::mem::take(&mut self.pipeline[slot + i]);
            if let Some(known) = self.scheduled.get(t as usize * n + i) {
                due += known;
            }
            let delivered = if self.v3 {
                self.deliver_or_hold(i, due)
            } else {
                self.backlog[i] = (self.backlog[i] - due).max(0.0);
                if self.available[i] > 0.0 { due } else { 0.0 }
            };
            self.deliveries[i] = delivered;
            self.stocks[i] = keep * self.stocks[i] + delivered;
        }
        self.window.push(&self.deliveries);
    }

    /// Step 10: the Security Council votes on an embargo (unless one is in
    /// force), each veto holder may veto it; in force from the next quarter.
    fn vote_on_embargo(&mut self, u: f64, p: f64) {
        if self.world.is_set(W::Embargo) {
            return;
        }
        let vote =
            (self.world[W::VoteBase] + self.world[W::VoteUnrestPressure] * u * p).clamp(0.0, 1.0);
        if self.council_rng.random::<f64>() < vote {
            let mut vetoed = false;
            for (c, &support) in self.traits.iter().zip(&self.support) {
                if c.is_set(S::Veto) {
                    let chance = (c[S::VetoPropensity] + c[S::VetoSlope] * support).clamp(0.0, 1.0);
                    vetoed |= self.council_rng.random::<f64>() < chance;
                }
            }
            self.embargo_next_quarter = !vetoed;
        }
    }

    /// Step 11: the quarter's outputs.
    fn record(&mut self, t: u32, u: f64, p: f64, budget: f64) -> QuarterView<'_> {
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
    #[inline(always)]
    fn utility_of(&self, i: usize, sigma: f64, d: f64, support_value: f64) -> f64 {
        let b = &self.buyer;
        let [price, quality] = self.fixed_utility[i];
        let s = self.committed_share[i];
        let over = (s - b[B::DependenceCeiling]).max(0.0);
        // `price` is `-beta_price c_i`, multiplied first as written out.
        let v = price * (1.0 - d) + quality + support_value * sigma + b[B::LockInWeight] * s
            - b[B::DependenceWeight] * over * over
            + self.ln_available[i];
        if self.v3 { v + self.selling[i] } else { v }
    }

    /// Step 7, v3: money tied to a supplier (`tied_budget`) is ordered from
    /// it while it is available; a windfall order (`windfall_order`, set by
    /// an event) is placed this quarter and then cleared.
    fn tied_and_windfall_orders(&mut self) {
        for (i, traits) in self.traits.iter_mut().enumerate() {
            if self.available[i] > 0.0 {
                self.orders[i] += traits[S::TiedBudget];
            }
            self.orders[i] += std::mem::take(&mut traits[S::WindfallOrder]);
        }
    }

    /// Step 8, v3: of what falls due from supplier `i`, the held share (its
    /// `suspension`, or all of it while it is unavailable) is deferred or, at
    /// `cancel_held`, cancelled; what earlier quarters deferred is
    /// released, a `1 / L_i` part of it a quarter at the share not held.
    /// Returns what is delivered. Conserves the order book: it loses
    /// exactly what is delivered or cancelled.
    fn deliver_or_hold(&mut self, i: usize, due: f64) -> f64 {
        let traits = &self.traits[i];
        let held_share = self.held_share[i];
        let held = due * held_share;
        let cancelled = held * traits[S::CancelHeld];
        // What was held in earlier quarters is released; this quarter's
        // holds join the pool.
        let released = self.deferred[i] * (1.0 - held_share) / traits[S::DeliveryQuarters];
        self.deferred[i] += (held - cancelled) - released;
        let delivered = (due - held) + released;
        self.backlog[i] = (self.backlog[i] - delivered - cancelled).max(0.0);
        delivered
    }

    /// Step 7, contracts mode: `n ~ Poisson(lambda_c)` log-normal contracts,
    /// each awarded by a draw from the choice weights, the outside option
    /// first. Returns the value awarded to the outside option.
    #[inline(always)]
    fn award_contracts<M: Maths>(&mut self, budget: f64, outside_weight: f64, total: f64) -> f64 {
        let Some(poisson) = self.contracts else {
            return 0.0;
        };
        let count = poisson.sample(&mut self.contracts_rng) as u64;
        let mean_size = budget / self.buyer[B::ContractsPerQuarter];
        let s_v = self.buyer[B::ContractSpread];
        let mut outside = 0.0;
        for _ in 0..count {
            let eps: f64 = self.contracts_rng.sample(StandardNormal);
            let size = mean_size * M::exp(s_v * eps - 0.5 * s_v * s_v);
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
    #[inline(always)]
    fn adapt<M: Maths>(&mut self, u: f64, p: f64, choice: &Choice) {
        let mut scale = self.adapt_begin(choice);
        for i in 0..self.support.len() {
            self.adapt_supplier::<M>(i, &mut scale, u, p, choice.support_value);
        }
    }

    /// Step 9's start: each supplier's `suffix`, and the weights' scale.
    #[inline(always)]
    fn adapt_begin(&mut self, choice: &Choice) -> Rescale {
        let mut later = 0.0;
        for (suffix, &w) in self.suffix.iter_mut().zip(&self.weight).rev() {
            *suffix = later;
            later += w;
        }
        Rescale {
            shift: choice.shift,
            outside: choice.outside_weight,
            earlier: 0.0,
        }
    }

    /// Step 9 for supplier `i`, after those before it. Always inlined, so
    /// that [`Simulator::step_pair`] lays two runs' moves side by side.
    #[inline(always)]
    fn adapt_supplier<M: Maths>(
        &mut self,
        i: usize,
        scale: &mut Rescale,
        u: f64,
        p: f64,
        support_value: f64,
    ) {
        let n = self.support.len();
        let tau = self.temperature;
        let price_weight = self.buyer[B::PriceWeight];
        let c = &self.traits[i];
        let sigma = self.support[i];
        let d = self.discount[i];
        let w = self.weight[i];
        let others = scale.outside + scale.earlier + self.suffix[i];
        let pi = if w > 0.0 { w / (w + others) } else { 0.0 };
        let exporter = 1.0 + c[S::ExportPressure];
        let revenue =
            exporter * (c[S::Price] * (1.0 - d) - c[S::UnitCost]) + c[S::StrategicValue] * sigma;
        let threshold = c[S::DetachThreshold];
        let spill = (u - threshold).max(0.0) / (1.0 - threshold);
        let politics = if self.v3 {
            // A stake in stability backs the state as unrest rises; the
            // cost of commitment gives an interior optimum.
            c[S::InfluenceAppetite] * self.committed_share[i] - c[S::Reputation] * p
                + c[S::StabilityStake] * u
                - c[S::Spillover] * spill
                - c[S::StanceCost] * sigma
        } else {
            c[S::InfluenceAppetite] * self.committed_share[i]
                - c[S::Reputation] * p
                - c[S::StabilityStake] * u
                - c[S::Spillover] * spill
        };
        let sensitivity = tau.divide(pi * (1.0 - pi));
        let slope_sigma =
            sensitivity * support_value * revenue + pi * c[S::StrategicValue] + politics;
        let slope_d =
            sensitivity * price_weight * c[S::Price] * revenue - pi * exporter * c[S::Price];
        if !c.is_set(S::HoldSupport) {
            self.support[i] = bounded_step::<M>(
                sigma,
                slope_sigma,
                c[S::StanceSpeed],
                self.move_scales[i][0],
                1.0,
            );
        }
        if !self.v3 && !c.is_set(S::HoldDiscount) {
            self.discount[i] = bounded_step::<M>(
                d,
                slope_d,
                c[S::DiscountSpeed],
                self.move_scales[i][1],
                c[S::MaxDiscount],
            );
        }
        let moved = self.support[i] != sigma || self.discount[i] != d;
        if moved && w > 0.0 {
            let v = self.utility_of(i, self.support[i], self.discount[i], support_value);
            self.utility[i] = v;
            if v > scale.shift {
                // Keep every weight at most 1, so none can overflow.
                let factor = M::exp(tau.divide(scale.shift - v));
                scale.shift = v;
                scale.outside *= factor;
                scale.earlier *= factor;
                for j in i + 1..n {
                    self.suffix[j] *= factor;
                    self.weight[j] *= factor;
                }
            }
            self.weight[i] = M::exp(tau.divide(v - scale.shift));
        }
        scale.earlier += self.weight[i];
    }
}

/// `x + speed tanh(slope / scale)`, clamped to `[0, top]`: a graded move
/// of at most `speed` (MODEL.md 3.9). A value at a bound that the slope
/// pushes further stays there without evaluating `tanh` (the clamp would
/// give the same bits), which is most suppliers most quarters.
#[inline(always)]
fn bounded_step<M: Maths>(x: f64, slope: f64, speed: f64, scale: Divisor, top: f64) -> f64 {
    if (x <= 0.0 && slope <= 0.0) || (x >= top && slope >= 0.0) {
        return x.clamp(0.0, top);
    }
    (x + speed * M::tanh(scale.divide(slope))).clamp(0.0, top)
}

/// Step 6's choice, which steps 7 and 9 read.
struct Choice {
    /// What a unit of support is worth to the buyer this quarter.
    support_value: f64,
    /// The outside option's weight.
    outside_weight: f64,
    /// The sum of every weight, the outside option's included.
    total: f64,
    /// The utility the weights are shifted by (the largest).
    shift: f64,
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

    /// Every value of a quarter's view, as bits.
    fn view_bits(v: &QuarterView<'_>) -> Vec<u64> {
        let scalars = [
            v.unrest,
            v.pressure,
            v.budget,
            v.total_orders,
            v.imports,
            v.outside,
            v.hhi,
            f64::from(v.quarter),
            f64::from(u8::from(v.embargo)),
            f64::from(u8::from(v.rolling_defined)),
            f64::from(u8::from(v.base_defined)),
        ];
        let slices = [
            v.orders,
            v.deliveries,
            v.backlog,
            v.rolling_share,
            v.stocks,
            v.base_share,
            v.support,
            v.discount,
        ];
        scalars
            .iter()
            .chain(slices.into_iter().flatten())
            .map(|x| x.to_bits())
            .collect()
    }

    /// Runs `ka` of `a` and `kb` of `b`, stepped together, as bits: the
    /// same as each stepped alone.
    fn assert_pair_steps_as_alone(a: &Scenario, ka: u64, b: &Scenario, kb: u64) {
        let alone = |s: &Scenario, k: u64| {
            let mut out = Vec::new();
            Simulator::new(s).run(&mut run_rng(s.seed(), k), &mut |v: &QuarterView<'_>| {
                out.push(view_bits(v))
            });
            out
        };
        let (mut sim_a, mut sim_b) = (Simulator::new(a), Simulator::new(b));
        let (mut rng_a, mut rng_b) = (run_rng(a.seed(), ka), run_rng(b.seed(), kb));
        sim_a.reset(&mut rng_a);
        sim_b.reset(&mut rng_b);
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        for _ in 0..a.quarters() {
            let (va, vb) = Simulator::step_two(&mut sim_a, &mut sim_b, &mut rng_a, &mut rng_b);
            out_a.push(view_bits(&va));
            out_b.push(view_bits(&vb));
        }
        assert_eq!(out_a, alone(a, ka), "{} run {ka}", a.name());
        assert_eq!(out_b, alone(b, kb), "{} run {kb}", b.name());
    }

    #[test]
    fn two_runs_stepped_together_are_the_runs_stepped_alone() {
        let v2 = scenario(&[]);
        let v2_held = scenario(&[
            "suppliers.Alpha.support=0",
            "suppliers.Alpha.hold_support=true",
        ]);
        let v3_events = v3(
            &[],
            &(event("2020Q2", "Beta", "availability", 0.0)
                + &event("2020Q4", "world", "pressure_impulse", 0.5)),
        );
        let v3_smooth = v3(&[SMOOTH[0]], "");
        // Four suppliers against the fixtures' two, over the same horizon.
        let horizon = format!("run.quarters={}", v2.quarters());
        let four = load_str(
            include_str!("../../scenarios/myanmar_2021_v2.toml"),
            "test",
            "myanmar_2021_v2.toml",
            &[horizon],
        )
        .unwrap()
        .scenario;
        for k in 0..12 {
            assert_pair_steps_as_alone(&v2, k, &v2, k + 1);
            assert_pair_steps_as_alone(&v2, k, &v2_held, k);
            assert_pair_steps_as_alone(&v3_events, k, &v3_events, k + 1);
            assert_pair_steps_as_alone(&v3_smooth, k, &v3_events, k);
            assert_pair_steps_as_alone(&v2, k, &v3_events, k);
            assert_pair_steps_as_alone(&four, k, &v2, k);
            assert_pair_steps_as_alone(&v3_smooth, k, &four, k + 1);
        }
    }

    /// Each quarter of run `k` of `a` and of `b`, as bits, stepped alone
    /// (`pair` false) or together, by the step compiled with FMA (`fma`)
    /// or the portable one.
    fn stepped(a: &Scenario, b: &Scenario, k: u64, pair: bool, fma: bool) -> Vec<Vec<u64>> {
        let (mut sim_a, mut sim_b) = (super::Simulator::new(a), super::Simulator::new(b));
        sim_a.fma = fma;
        sim_b.fma = fma;
        let (mut rng_a, mut rng_b) = (run_rng(a.seed(), k), run_rng(b.seed(), k + 1));
        sim_a.reset(&mut rng_a);
        sim_b.reset(&mut rng_b);
        let mut out = Vec::new();
        for _ in 0..a.quarters() {
            if pair {
                let (va, vb) = super::Simulator::step_pair(&mut sim_a, &mut sim_b);
                out.extend([view_bits(&va), view_bits(&vb)]);
            } else {
                out.push(view_bits(&sim_a.step()));
                out.push(view_bits(&sim_b.step()));
            }
        }
        out
    }

    /// The twin compiled with FMA (where the processor has it; elsewhere
    /// both sides run the portable step) gives the portable step's bits,
    /// stepping runs alone or in pairs, in both procurement modes, v2 and
    /// v3, with events, and at a temperature that is not a power of two.
    #[test]
    fn the_step_compiled_with_fma_is_the_portable_step_to_the_bit() {
        let four = |overrides: &[&str]| {
            let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
            load_str(
                include_str!("../../scenarios/myanmar_2021.toml"),
                "test",
                "myanmar_2021.toml",
                &overrides,
            )
            .unwrap()
            .scenario
        };
        let scenarios = [
            scenario(&[]),
            scenario(&[SMOOTH[0], "buyer.temperature=0.7"]),
            v3(
                &[],
                &(event("2020Q2", "Beta", "availability", 0.0)
                    + &event("2020Q4", "world", "pressure_impulse", 0.5)),
            ),
            four(&[]),
            four(&["buyer.temperature=0.7", "suppliers.Russia.stance_scale=0.3"]),
        ];
        for s in &scenarios {
            for k in 0..6 {
                for pair in [false, true] {
                    assert_eq!(
                        stepped(s, s, k, pair, super::has_fma()),
                        stepped(s, s, k, pair, false),
                        "{} run {k}, pair {pair}",
                        s.name()
                    );
                }
            }
        }
    }

    const MINIMAL_V3: &str = include_str!("../../tests/fixtures/minimal_v3.toml");

    /// The two-supplier v3 fixture with `overrides`, its event replaced by
    /// `events` (TOML `[[events]]` tables).
    fn v3(overrides: &[&str], events: &str) -> Scenario {
        let text = MINIMAL_V3.split("[[events]]").next().unwrap().to_string() + events;
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        load_str(&text, "test", "minimal_v3.toml", &overrides)
            .unwrap()
            .scenario
    }

    fn event(quarter: &str, entity: &str, param: &str, value: f64) -> String {
        format!(
            "[[events]]\nquarter = \"{quarter}\"\nentity = \"{entity}\"\nparam = \"{param}\"\nset = {value}\n"
        )
    }

    /// What was on order at the start: the run's first backlog plus its
    /// first deliveries, less its first orders.
    fn conserved(qs: &[Owned], i: usize, cancelled: f64) -> (f64, f64) {
        let start = qs[0].backlog[i] + qs[0].deliveries[i] - qs[0].orders[i];
        let ordered: f64 = qs.iter().map(|q| q.orders[i]).sum();
        let delivered: f64 = qs.iter().map(|q| q.deliveries[i]).sum();
        (
            start + ordered,
            delivered + cancelled + qs.last().unwrap().backlog[i],
        )
    }

    #[test]
    fn v3_holds_defer_deliveries_and_release_them_when_lifted() {
        let events = event("2020Q2", "Beta", "availability", 0.0)
            + &event("2020Q4", "Beta", "availability", 1.0);
        let s = v3(&[SMOOTH[0], "run.quarters=16"], &events);
        let qs = quarters(&s, 0);
        // Held for quarters 1-2: nothing delivered, nothing ordered.
        assert_eq!(qs[1].deliveries[1], 0.0);
        assert_eq!(qs[2].deliveries[1], 0.0);
        assert!(qs[0].deliveries[1] > 0.0);
        // Released once lifted: more than the pipeline alone brings.
        assert!(qs[3].deliveries[1] > 0.0);
        // Nothing is lost: what was on order and ordered is delivered or still on order.
        let (owed, accounted) = conserved(&qs, 1, 0.0);
        assert!(
            (owed - accounted).abs() < 1e-9 * owed,
            "{owed} vs {accounted}"
        );
        // The same hold with cancellation loses the held deliveries.
        let cancelling = v3(
            &[SMOOTH[0], "run.quarters=16", "suppliers.Beta.cancel_held=1"],
            &events,
        );
        let lost = quarters(&cancelling, 0);
        let total = |qs: &[Owned]| qs.iter().map(|q| q.deliveries[1]).sum::<f64>();
        assert!(
            total(&lost) < total(&qs) - 1.0,
            "{} vs {}",
            total(&lost),
            total(&qs)
        );
    }

    #[test]
    fn v3_a_partial_suspension_holds_its_share() {
        let s = v3(
            &[
                SMOOTH[0],
                "suppliers.Alpha.suspension=0.5",
                "buyer.carryover=1",
            ],
            "",
        );
        let free = v3(&[SMOOTH[0], "buyer.carryover=1"], "");
        let (held, open) = (quarters(&s, 0), quarters(&free, 0));
        // Quarter 0 delivers only the starting pipeline: half of it is held.
        assert!((held[0].deliveries[0] - 0.5 * open[0].deliveries[0]).abs() < 1e-12);
        let (owed, accounted) = conserved(&held, 0, 0.0);
        assert!((owed - accounted).abs() < 1e-9 * owed);
    }

    #[test]
    fn v3_windfall_orders_arrive_once_and_tied_money_every_quarter() {
        let s = v3(
            &[SMOOTH[0], "suppliers.Beta.tied_budget=3"],
            &event("2020Q2", "Alpha", "windfall_order", 50.0),
        );
        let base = v3(&[SMOOTH[0], "suppliers.Beta.tied_budget=3"], "");
        let (qs, plain) = (quarters(&s, 0), quarters(&base, 0));
        assert!(qs[1].orders[0] >= 50.0);
        assert!(qs[2].orders[0] < 50.0);
        assert!((qs[1].orders[0] - plain[1].orders[0] - 50.0).abs() < 1e-9);
        assert!(qs.iter().all(|q| q.orders[1] >= 3.0));
    }

    #[test]
    fn v3_starts_with_a_lumpy_share_of_the_steady_order_book() {
        // Quarter 0 delivers only orders placed before the start: on
        // average the steady rate times the carryover, run by run lumpy.
        let first = |overrides: &[&str]| {
            let s = v3(overrides, "");
            (0..400)
                .map(|k| quarters(&s, k)[0].deliveries.clone())
                .collect::<Vec<_>>()
        };
        let none = first(&[SMOOTH[0], "buyer.carryover=0", "run.quarters=1"]);
        assert!(none.iter().all(|d| d == &vec![0.0, 0.0]));
        for carryover in [1.0, 0.5] {
            let runs = first(&[
                SMOOTH[0],
                &format!("buyer.carryover={carryover}"),
                "run.quarters=1",
            ]);
            for (i, rate) in [(0, 6.0), (1, 4.0)] {
                let mean = runs.iter().map(|d| d[i]).sum::<f64>() / runs.len() as f64;
                let expected = rate * carryover;
                assert!(
                    (mean - expected).abs() < 0.1 * expected,
                    "supplier {i} at carryover {carryover}: mean {mean}, expected {expected}"
                );
                assert!(runs.iter().any(|d| (d[i] - runs[0][i]).abs() > 1e-9));
            }
        }
        // The smaller supplier (two contracts a quarter, two fifths of them
        // its own) starts some runs with nothing due.
        let half = first(&[SMOOTH[0], "run.quarters=1"]);
        assert!(half.iter().any(|d| d[1] == 0.0));
    }

    #[test]
    fn v3_a_cost_of_commitment_gives_an_interior_stance() {
        let s = v3(
            &[
                "run.quarters=40",
                "world.trait_spread=0",
                "suppliers.Alpha.reputation=0",
                "suppliers.Alpha.stance_cost=2",
                "suppliers.Alpha.support=0",
            ],
            "",
        );
        for k in 0..5 {
            let last = quarters(&s, k).last().unwrap().support[0];
            assert!(last > 0.05 && last < 0.95, "run {k}: support {last}");
        }
        // Without the cost the same supplier runs to full support.
        let free = v3(
            &[
                "run.quarters=40",
                "world.trait_spread=0",
                "suppliers.Alpha.reputation=0",
                "suppliers.Alpha.stance_cost=0",
                "suppliers.Alpha.support=0",
            ],
            "",
        );
        assert_eq!(quarters(&free, 0).last().unwrap().support[0], 1.0);
    }

    fn mean_support(s: &Scenario, who: usize) -> f64 {
        let runs = 40;
        (0..runs)
            .map(|k| quarters(s, k).last().unwrap().support[who])
            .sum::<f64>()
            / runs as f64
    }

    #[test]
    fn v3_a_stake_in_stability_raises_support_as_unrest_rises() {
        let at = |stake: &str| {
            v3(
                &[
                    "run.quarters=16",
                    "world.unrest_mean=0.6",
                    "suppliers.Alpha.detach_threshold=0.9",
                    &format!("suppliers.Alpha.stability_stake={stake}"),
                ],
                "",
            )
        };
        let (none, stake) = (mean_support(&at("0"), 0), mean_support(&at("1.5"), 0));
        assert!(stake > none + 0.05, "{none} -> {stake}");
    }

    #[test]
    fn v3_the_buyer_turns_to_willing_sellers_under_pressure() {
        let share = |w: &str| {
            let s = v3(
                &[
                    SMOOTH[0],
                    "world.pressure=0.9",
                    "world.trait_spread=0",
                    "suppliers.Alpha.hold_support=true",
                    "suppliers.Beta.hold_support=true",
                    &format!("suppliers.Alpha.sale_willingness={w}"),
                ],
                "",
            );
            let q = &quarters(&s, 0)[0];
            q.orders[0] / (q.orders[0] + q.orders[1])
        };
        assert!(
            share("1") > share("0") + 0.1,
            "{} vs {}",
            share("1"),
            share("0")
        );
    }

    #[test]
    fn v3_traits_drawn_per_run_spread_the_stances() {
        let calm = [
            SMOOTH[0],
            "world.unrest_volatility=0",
            "buyer.budget_volatility=0",
            "world.vote_base=0",
            "world.vote_unrest_pressure=0",
        ];
        let finals = |spread: &str| {
            let mut o: Vec<&str> = calm.to_vec();
            let spread = format!("world.trait_spread={spread}");
            o.push(&spread);
            let s = v3(&o, "");
            (0..6)
                .map(|k| quarters(&s, k).last().unwrap().support[0])
                .collect::<Vec<f64>>()
        };
        let fixed = finals("0");
        assert!(fixed.iter().all(|&x| x == fixed[0]), "{fixed:?}");
        let drawn = finals("0.5");
        assert!(drawn.iter().any(|&x| x != drawn[0]), "{drawn:?}");
    }

    #[test]
    fn v3_discounts_stay_where_the_scenario_puts_them() {
        let s = v3(&["suppliers.Alpha.discount=0.1"], "");
        for q in quarters(&s, 1) {
            assert_eq!(q.discount[0], 0.1);
            assert_eq!(q.discount[1], 0.0);
        }
    }

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
