//! Validated model types: what the engine runs on.
//!
//! A [`Scenario`] is built only by the `scenario` layer (from TOML, through
//! validation), so every value here is already known to be in range: the engine
//! never checks and never fails. Parameters of the world, the buyer and each
//! supplier are addressed by the enums [`WorldParam`], [`BuyerParam`] and
//! [`SupplierParam`], which is what lets a scenario's timeline change any of
//! them with one general event form ([`Event`]).

use std::fmt;
use std::ops::{Index, IndexMut};

/// A calendar quarter, such as 2021Q1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// Calendar year.
    pub year: i32,
    /// Quarter of the year, 1 to 4.
    pub q: u8,
}

impl Quarter {
    /// Parses labels such as `2021Q1` (case-insensitive `q`).
    pub fn parse(label: &str) -> Option<Quarter> {
        let label = label.trim();
        let (year, q) = label.split_once(['Q', 'q'])?;
        let year: i32 = year.parse().ok()?;
        let q: u8 = q.parse().ok()?;
        ((1..=4).contains(&q) && (1000..=9999).contains(&year)).then_some(Quarter { year, q })
    }

    /// The quarter `offset` quarters after this one.
    pub fn plus(self, offset: u32) -> Quarter {
        let index = self.year as i64 * 4 + (self.q as i64 - 1) + offset as i64;
        Quarter {
            year: index.div_euclid(4) as i32,
            q: (index.rem_euclid(4) + 1) as u8,
        }
    }

    /// Quarters from `self` to `later` (negative if `later` is earlier).
    pub fn quarters_until(self, later: Quarter) -> i64 {
        (later.year as i64 - self.year as i64) * 4 + (later.q as i64 - self.q as i64)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

/// How the buyer turns its budget and choice probabilities into purchases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Procurement {
    /// A Poisson number of lumpy contracts, each awarded by a draw from the
    /// choice probabilities (MODEL.md 3.7, the default).
    #[default]
    Contracts,
    /// The budget split by the choice probabilities: smooth, for teaching and
    /// for checking the mechanics.
    Expected,
}

impl Procurement {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Procurement::Contracts => "contracts",
            Procurement::Expected => "expected",
        }
    }
}

/// The set of values a parameter may take; events are clamped into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// `[0, 1]`.
    Unit,
    /// `(0, 1)`, open at both ends.
    OpenUnit,
    /// `[0, 1)`.
    UnitBelowOne,
    /// `(0, 1]`.
    UnitAboveZero,
    /// `> 0`.
    Positive,
    /// `>= 0`.
    NonNegative,
    /// Any finite number.
    Real,
    /// 0 (no) or 1 (yes).
    Flag,
}

/// Smallest distance kept from an open bound when an event pushes a value
/// onto it (so that `logit`, `ln` and divisions stay finite).
const OPEN_MARGIN: f64 = 1e-9;

impl Domain {
    /// Whether `x` lies in the domain.
    pub fn contains(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Domain::Unit => (0.0..=1.0).contains(&x),
                Domain::OpenUnit => x > 0.0 && x < 1.0,
                Domain::UnitBelowOne => (0.0..1.0).contains(&x),
                Domain::UnitAboveZero => x > 0.0 && x <= 1.0,
                Domain::Positive => x > 0.0,
                Domain::NonNegative => x >= 0.0,
                Domain::Real => true,
                Domain::Flag => x == 0.0 || x == 1.0,
            }
    }

    /// The nearest value in the domain (flags round to 0 or 1).
    pub fn clamp(self, x: f64) -> f64 {
        let lo = OPEN_MARGIN;
        let hi = 1.0 - OPEN_MARGIN;
        match self {
            Domain::Unit => x.clamp(0.0, 1.0),
            Domain::OpenUnit => x.clamp(lo, hi),
            Domain::UnitBelowOne => x.clamp(0.0, hi),
            Domain::UnitAboveZero => x.clamp(lo, 1.0),
            Domain::Positive => x.max(lo),
            Domain::NonNegative => x.max(0.0),
            Domain::Real => x,
            Domain::Flag => {
                if x >= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Compact notation for tables: `[0, 1]`, `> 0`, ...
    pub fn notation(self) -> &'static str {
        match self {
            Domain::Unit => "[0, 1]",
            Domain::OpenUnit => "(0, 1)",
            Domain::UnitBelowOne => "[0, 1)",
            Domain::UnitAboveZero => "(0, 1]",
            Domain::Positive => "> 0",
            Domain::NonNegative => ">= 0",
            Domain::Real => "any",
            Domain::Flag => "0 or 1",
        }
    }

    /// Words for error messages: what a value in this domain looks like.
    pub fn describe(self) -> &'static str {
        match self {
            Domain::Unit => "a number between 0 and 1",
            Domain::OpenUnit => "a number strictly between 0 and 1",
            Domain::UnitBelowOne => "a number in [0, 1)",
            Domain::UnitAboveZero => "a number in (0, 1]",
            Domain::Positive => "a number greater than 0",
            Domain::NonNegative => "a number 0 or greater",
            Domain::Real => "a finite number",
            Domain::Flag => "0 or 1",
        }
    }
}

/// A named, enumerable parameter with a domain; implemented by the three
/// parameter enums so that events and `--set` treat them alike.
pub trait Param: Copy + Eq + fmt::Debug + 'static {
    /// Every parameter, in storage order.
    const ALL: &'static [Self];
    /// The name used in scenario files and events.
    fn name(self) -> &'static str;
    /// The values it may take.
    fn domain(self) -> Domain;
    /// What it means, in a sentence (shown by `armsim params`).
    fn description(self) -> &'static str;
    /// Its position in storage.
    fn index(self) -> usize;
    /// Looks a parameter up by its scenario-file name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }
}

macro_rules! param_enum {
    ($(#[$meta:meta])* $enum:ident { $($variant:ident => $name:literal, $domain:ident, $desc:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $enum { $(#[doc = $desc] $variant,)+ }

        impl Param for $enum {
            const ALL: &'static [Self] = &[$($enum::$variant,)+];
            fn name(self) -> &'static str {
                match self { $($enum::$variant => $name,)+ }
            }
            fn domain(self) -> Domain {
                match self { $($enum::$variant => Domain::$domain,)+ }
            }
            fn description(self) -> &'static str {
                match self { $($enum::$variant => $desc,)+ }
            }
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

param_enum! {
    /// Parameters and state of the world (MODEL.md section 2).
    WorldParam {
        UnrestMean => "unrest_mean", OpenUnit, "Long-run unrest level `logistic(mu_z)`; the latent mean is its logit.";
        UnrestPersistence => "unrest_persistence", Unit, "Persistence `rho` of latent unrest.";
        UnrestVolatility => "unrest_volatility", NonNegative, "Quarterly shock size `s_z` of latent unrest.";
        Pressure => "pressure", Unit, "International pressure `p` (state; the scenario gives `p_0`).";
        PressureImpulse => "pressure_impulse", Real, "One-quarter addition to pressure, reset after use (the coup's impulse).";
        PressureDecay => "pressure_decay", Unit, "Pressure decay `lambda_p` per quarter.";
        PressureFromUnrest => "pressure_from_unrest", NonNegative, "Pressure added per unit of unrest, `kappa_u`.";
        VoteBase => "vote_base", Unit, "Base probability `v_0` of a Security Council vote in a quarter.";
        VoteUnrestPressure => "vote_unrest_pressure", NonNegative, "Vote probability added per unit of `u * p`, `v_1`.";
        Embargo => "embargo", Flag, "Whether a UN arms embargo is in force (an event can force or lift it).";
    }
}

param_enum! {
    /// Parameters of the buyer (MODEL.md sections 2, 3.4, 3.6, 3.7).
    BuyerParam {
        Budget => "budget", Positive, "Mean quarterly budget `B_bar` (TIV millions).";
        BudgetVolatility => "budget_volatility", NonNegative, "Log-normal budget noise `s_B`.";
        BudgetUnrest => "budget_unrest", NonNegative, "Budget rise per unit of unrest `gamma_u` (counter-insurgency demand).";
        BudgetMultiplier => "budget_multiplier", NonNegative, "Budget multiplier `M_t` (e.g. sanctions on the military's revenue).";
        Depreciation => "depreciation", UnitAboveZero, "Quarterly depreciation `delta` of installed stock.";
        PriceWeight => "price_weight", Real, "`beta_price`: how much the buyer minds a supplier's price.";
        QualityWeight => "quality_weight", Real, "`beta_quality`: how much the buyer values quality.";
        SupportWeight => "support_weight", Real, "`beta_support`: how much the buyer values a supplier's political support.";
        IsolationWeight => "isolation_weight", NonNegative, "`kappa_iso`: how much isolation raises the value of support.";
        DiversificationWeight => "diversification_weight", Real, "`beta_div`: value of diversifying away from the dominant supplier.";
        LockInWeight => "lock_in_weight", Real, "`beta_lock`: value of staying with what is installed.";
        Temperature => "temperature", Positive, "Choice temperature `tau`: higher means choices are more random, lower more decisive.";
        ContractsPerQuarter => "contracts_per_quarter", Positive, "Mean number of contracts a quarter `lambda_c` (contracts mode).";
        ContractSpread => "contract_spread", NonNegative, "Log-normal spread `s_v` of contract sizes: how lumpy deals are.";
    }
}

param_enum! {
    /// Parameters and state of one supplier (MODEL.md section 2).
    SupplierParam {
        Support => "support", Unit, "Support stance `sigma` (state; 0 condemns, 1 unconditional support).";
        Discount => "discount", Unit, "Price discount `d` (state; kept within `[0, max_discount]`).";
        MaxDiscount => "max_discount", UnitBelowOne, "Largest discount `d_max` it will give.";
        Availability => "availability", Unit, "Availability `a` (sanctions); an embargo multiplies it further.";
        Price => "price", Positive, "Price index `c`.";
        Quality => "quality", Real, "Quality `q` of its arms, as the buyer sees it.";
        Reputation => "reputation", NonNegative, "Reputation cost `r`: what supporting the regime costs it per unit of international pressure.";
        StabilityStake => "stability_stake", NonNegative, "Stake in stability `e`: what supporting a regime in turmoil puts at risk (projects, investments).";
        DetachThreshold => "detach_threshold", UnitBelowOne, "Unrest level `theta` past which support costs it spill-over (where it would rather detach).";
        Spillover => "spillover", NonNegative, "Spill-over cost `h` of support once unrest passes `detach_threshold`.";
        ExportPressure => "export_pressure", NonNegative, "Export pressure `x`: how much arms revenue matters to it (weak home orders raise it).";
        InfluenceAppetite => "influence_appetite", NonNegative, "Influence appetite `g`: the value it puts on influence, installed share times support.";
        UnitCost => "unit_cost", NonNegative, "Unit cost `m` of what it sells (margin is price times (1 - discount) minus this).";
        Veto => "veto", Flag, "Whether it holds a Security Council veto.";
        EmbargoCompliance => "embargo_compliance", Unit, "Embargo compliance `k`: availability is multiplied by `1 - k` under an embargo.";
        AdaptationRate => "adaptation_rate", Unit, "Adaptation rate `eta`: how far it moves towards a better stance each quarter.";
        ExploreSupport => "explore_support", NonNegative, "Exploration step `w_sigma`: the size of the stance changes it tries.";
        ExploreDiscount => "explore_discount", NonNegative, "Exploration step `w_d`: the size of the discount changes it tries.";
    }
}

/// Values of every parameter of one kind, indexed by the parameter enum.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<P: Param> {
    values: Vec<f64>,
    _kind: std::marker::PhantomData<P>,
}

impl<P: Param> Params<P> {
    /// Builds from a lookup; `value(p)` is called once for each parameter.
    pub fn from_fn(mut value: impl FnMut(P) -> f64) -> Self {
        Params {
            values: P::ALL.iter().map(|&p| value(p)).collect(),
            _kind: std::marker::PhantomData,
        }
    }

    /// Applies an event's operation, keeping the result in the parameter's domain.
    pub fn apply(&mut self, param: P, op: Op, value: f64) {
        let slot = &mut self.values[param.index()];
        *slot = param.domain().clamp(op.apply(*slot, value));
    }
}

impl<P: Param> Index<P> for Params<P> {
    type Output = f64;
    #[inline]
    fn index(&self, p: P) -> &f64 {
        &self.values[p.index()]
    }
}

impl<P: Param> IndexMut<P> for Params<P> {
    #[inline]
    fn index_mut(&mut self, p: P) -> &mut f64 {
        &mut self.values[p.index()]
    }
}

/// One supplier: its name, initial share of the installed base, and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Supplier {
    /// Unique name, used in outputs and events.
    pub name: String,
    /// Initial share of the buyer's installed stock (shares sum to 1).
    pub share: f64,
    /// Parameters, including the initial stance and discount.
    pub params: Params<SupplierParam>,
}

/// How an event changes a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Replace the value.
    Set,
    /// Multiply the value.
    Scale,
    /// Add to the value.
    Add,
}

impl Op {
    /// The new value of a parameter that was `old`.
    pub fn apply(self, old: f64, value: f64) -> f64 {
        match self {
            Op::Set => value,
            Op::Scale => old * value,
            Op::Add => old + value,
        }
    }

    /// The key used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Op::Set => "set",
            Op::Scale => "scale",
            Op::Add => "add",
        }
    }
}

/// Which parameter an event changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A parameter of the world.
    World(WorldParam),
    /// A parameter of the buyer.
    Buyer(BuyerParam),
    /// A parameter of the supplier at this index.
    Supplier(usize, SupplierParam),
}

/// "At quarter Q, set/scale/add parameter P of entity E" (MODEL.md section 5).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 0-based quarter at which it applies, before anything else that quarter.
    pub quarter: u32,
    /// The parameter it changes.
    pub target: Target,
    /// How.
    pub op: Op,
    /// The operand.
    pub value: f64,
    /// What it stands for, for people reading outputs.
    pub note: String,
}

/// A validated study: the model, its timeline and the run settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short identifier (the scenario file's stem); names the output directory.
    pub id: String,
    /// Human-readable name, used in titles.
    pub name: String,
    /// First simulated quarter.
    pub start: Quarter,
    /// Number of quarters each run simulates.
    pub quarters: u32,
    /// Number of Monte Carlo runs.
    pub runs: u64,
    /// Master seed; run `k` uses ChaCha stream `k` of it.
    pub seed: u64,
    /// Procurement mode.
    pub procurement: Procurement,
    /// World parameters and initial state.
    pub world: Params<WorldParam>,
    /// The buyer's name.
    pub buyer_name: String,
    /// Buyer parameters.
    pub buyer: Params<BuyerParam>,
    /// Suppliers, in file order (adaptation follows this order).
    pub suppliers: Vec<Supplier>,
    /// Timeline, sorted by quarter; events of one quarter keep file order.
    pub events: Vec<Event>,
    /// Ordered supplier pairs `(a, b)` whose rolling shares are compared.
    pub compare: Vec<(usize, usize)>,
}

impl Scenario {
    /// The label of 0-based quarter `t`, such as `2021Q1`.
    pub fn label(&self, t: u32) -> Quarter {
        self.start.plus(t)
    }

    /// Index of the supplier called `name`.
    pub fn supplier_index(&self, name: &str) -> Option<usize> {
        self.suppliers.iter().position(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_and_count() {
        let q = Quarter::parse("2021Q1").unwrap();
        assert_eq!(q.plus(3).to_string(), "2021Q4");
        assert_eq!(q.plus(4).to_string(), "2022Q1");
        assert_eq!(q.plus(39).to_string(), "2030Q4");
        assert_eq!(q.quarters_until(Quarter::parse("2021q3").unwrap()), 2);
        assert!(Quarter::parse("2021Q5").is_none());
        assert!(Quarter::parse("21Q1").is_none());
        assert!(Quarter::parse("2021").is_none());
    }

    #[test]
    fn events_stay_in_domain() {
        let mut p = Params::<SupplierParam>::from_fn(|_| 0.5);
        p.apply(SupplierParam::Support, Op::Add, 0.8);
        assert_eq!(p[SupplierParam::Support], 1.0);
        p.apply(SupplierParam::Availability, Op::Scale, 0.4);
        assert!((p[SupplierParam::Availability] - 0.2).abs() < 1e-12);
        let mut w = Params::<WorldParam>::from_fn(|_| 0.5);
        w.apply(WorldParam::UnrestMean, Op::Set, 1.0);
        assert!(w[WorldParam::UnrestMean] < 1.0);
    }

    #[test]
    fn param_names_round_trip() {
        for &p in SupplierParam::ALL {
            assert_eq!(SupplierParam::from_name(p.name()), Some(p));
        }
        for &p in WorldParam::ALL {
            assert_eq!(WorldParam::from_name(p.name()), Some(p));
        }
        for &p in BuyerParam::ALL {
            assert_eq!(BuyerParam::from_name(p.name()), Some(p));
        }
    }
}
