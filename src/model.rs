//! Validated model types: what the engine runs on.
//!
//! A [`Scenario`] is built only by the `scenario` layer (from TOML, through
//! validation) and changed only through a checked setter
//! ([`Scenario::set_param`]), so every value in it is known to be in range:
//! the engine never checks and never fails. Parameters of the world, the
//! buyer and each supplier are addressed by the enums [`WorldParam`],
//! [`BuyerParam`] and [`SupplierParam`], each generated from one table (the
//! `param_enum!` invocations below) that holds every parameter's file name,
//! domain, documented range, role, model versions, default, plain-words
//! label, symbol and meaning. Validation, `--set`, events, `armsim params`,
//! sweeps and the web page all read that table, so a parameter is described
//! in one place.

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

    /// The quarter's start as a decimal year: 2021Q1 is 2021.0, 2021Q3 2021.5.
    pub fn decimal_year(self) -> f64 {
        self.year as f64 + (self.q as f64 - 1.0) / 4.0
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

/// Which version of the reference model a scenario runs (MODEL.md,
/// docs/model.md; v1 and v2 are kept so that earlier studies replay to the
/// same bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelVersion {
    /// The first reference model: instant delivery, sign-only hill-climbing.
    V1,
    /// The reference model of MODEL.md: order book and delivery lag, graded
    /// stances, a dependence ceiling, veto propensity and an outside option.
    V2,
    /// v2 and what the case library asked for (docs/model.md): selling apart
    /// from backing, holds that defer deliveries, tied money and windfall
    /// orders, a pipeline started from the record, hedged stances with traits
    /// drawn per run, and a stake in stability that backs the state.
    V3,
}

impl ModelVersion {
    /// Every version, oldest first.
    pub const ALL: [ModelVersion; 3] = [ModelVersion::V1, ModelVersion::V2, ModelVersion::V3];

    /// The name used in scenario files (`[run] model = "v3"`).
    pub fn name(self) -> &'static str {
        match self {
            ModelVersion::V1 => "v1",
            ModelVersion::V2 => "v2",
            ModelVersion::V3 => "v3",
        }
    }

    /// Looks a version up by its file name.
    pub fn from_name(name: &str) -> Option<ModelVersion> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether the version has an order book (v2 and later).
    pub fn has_order_book(self) -> bool {
        self >= ModelVersion::V2
    }
}

impl fmt::Display for ModelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which model versions use a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Models {
    /// Every version.
    All,
    /// Only v1 (kept so v1 scenarios replay).
    V1,
    /// v2 and v3.
    FromV2,
    /// v1 and v2 (v3 dropped it).
    UpToV2,
    /// Only v2 (v3 dropped it).
    V2,
    /// Only v3.
    V3,
}

impl Models {
    /// Whether `version` uses the parameter.
    pub fn includes(self, version: ModelVersion) -> bool {
        match self {
            Models::All => true,
            Models::V1 => version == ModelVersion::V1,
            Models::FromV2 => version >= ModelVersion::V2,
            Models::UpToV2 => version <= ModelVersion::V2,
            Models::V2 => version == ModelVersion::V2,
            Models::V3 => version == ModelVersion::V3,
        }
    }

    /// The versions, in words: "v1", "v2 and v3", "every version".
    pub fn words(self) -> &'static str {
        match self {
            Models::All => "v1, v2 and v3",
            Models::V1 => "v1",
            Models::FromV2 => "v2 and v3",
            Models::UpToV2 => "v1 and v2",
            Models::V2 => "v2",
            Models::V3 => "v3",
        }
    }
}

/// How a parameter behaves over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A starting value: the model changes it as the run goes (stances,
    /// discounts, pressure, the embargo); events change the live value.
    State,
    /// Fixed for the run unless an event changes it.
    Fixed,
    /// Used only to set up the initial state (installed stock, recent
    /// deliveries); events cannot change it.
    Initial,
}

impl Role {
    /// A word for tables: `start`, `fixed` or `initial`.
    pub fn word(self) -> &'static str {
        match self {
            Role::State => "start",
            Role::Fixed => "fixed",
            Role::Initial => "initial",
        }
    }
}

/// How a scenario turns its budget and choice probabilities into orders.
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

/// The set of values a parameter may take: an interval, possibly open at
/// either end, possibly whole numbers only, possibly with `-inf` allowed (an
/// option switched off), or a yes/no flag. Bounded everywhere, so that no
/// accepted value can overflow the engine or the statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    lo: f64,
    hi: f64,
    lo_open: bool,
    hi_open: bool,
    integer: bool,
    off: bool,
    flag: bool,
}

/// Smallest distance kept from an open bound when an event pushes a value
/// onto it (so that `logit`, `ln` and divisions stay finite).
const OPEN_MARGIN: f64 = 1e-9;

impl Domain {
    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Domain {
        Domain {
            lo,
            hi,
            lo_open: false,
            hi_open: false,
            integer: false,
            off: false,
            flag: false,
        }
    }

    /// `(lo, hi)`.
    pub const fn open(lo: f64, hi: f64) -> Domain {
        Domain {
            lo_open: true,
            hi_open: true,
            ..Domain::closed(lo, hi)
        }
    }

    /// `(lo, hi]`.
    pub const fn above(lo: f64, hi: f64) -> Domain {
        Domain {
            lo_open: true,
            ..Domain::closed(lo, hi)
        }
    }

    /// `[lo, hi)`.
    pub const fn below(lo: f64, hi: f64) -> Domain {
        Domain {
            hi_open: true,
            ..Domain::closed(lo, hi)
        }
    }

    /// Whole numbers in `[lo, hi]`.
    pub const fn whole(lo: f64, hi: f64) -> Domain {
        Domain {
            integer: true,
            ..Domain::closed(lo, hi)
        }
    }

    /// `[lo, hi]`, or `-inf` for "off".
    pub const fn or_off(self) -> Domain {
        Domain { off: true, ..self }
    }

    /// 0 (no) or 1 (yes); `false`/`true` in files.
    pub const fn flag() -> Domain {
        Domain {
            flag: true,
            integer: true,
            ..Domain::closed(0.0, 1.0)
        }
    }

    /// Whether this is a yes/no flag.
    pub fn is_flag(self) -> bool {
        self.flag
    }

    /// Whether only whole numbers are allowed.
    pub fn is_integer(self) -> bool {
        self.integer
    }

    /// Whether `-inf` ("off") is allowed.
    pub fn allows_off(self) -> bool {
        self.off
    }

    /// Lower and upper bound.
    pub fn bounds(self) -> (f64, f64) {
        (self.lo, self.hi)
    }

    /// Whether `x` lies in the domain.
    pub fn contains(self, x: f64) -> bool {
        if self.off && x == f64::NEG_INFINITY {
            return true;
        }
        x.is_finite()
            && (if self.lo_open {
                x > self.lo
            } else {
                x >= self.lo
            })
            && (if self.hi_open {
                x < self.hi
            } else {
                x <= self.hi
            })
            && (!self.integer || x.fract() == 0.0)
    }

    /// The nearest value in the domain (flags and whole numbers round; NaN
    /// goes to the lower bound). Events are clamped with this.
    pub fn clamp(self, x: f64) -> f64 {
        if self.off && x == f64::NEG_INFINITY {
            return x;
        }
        if x.is_nan() {
            return if self.lo_open {
                self.lo + OPEN_MARGIN
            } else {
                self.lo
            };
        }
        let x = if self.integer { x.round() } else { x };
        let lo = if self.lo_open {
            self.lo + OPEN_MARGIN
        } else {
            self.lo
        };
        let hi = if self.hi_open {
            self.hi - OPEN_MARGIN
        } else {
            self.hi
        };
        x.max(lo).min(hi)
    }

    /// Compact notation for tables: `[0, 1]`, `(0, 1e6]`, `0 or 1`, ...
    pub fn notation(self) -> String {
        if self.flag {
            return "true/false".into();
        }
        let open = if self.lo_open { '(' } else { '[' };
        let close = if self.hi_open { ')' } else { ']' };
        let mut s = format!("{open}{}, {}{close}", short(self.lo), short(self.hi));
        if self.integer {
            s += " whole";
        }
        if self.off {
            s += " or -inf";
        }
        s
    }

    /// Words for error messages: what a value in this domain looks like.
    pub fn describe(self) -> String {
        if self.flag {
            return "true or false".into();
        }
        let kind = if self.integer {
            "a whole number"
        } else {
            "a number"
        };
        let (lo, hi) = (short(self.lo), short(self.hi));
        let mut s = match (self.lo_open, self.hi_open) {
            (false, false) => format!("{kind} from {lo} to {hi}"),
            (true, true) => format!("{kind} strictly between {lo} and {hi}"),
            (true, false) => format!("{kind} greater than {lo} and at most {hi}"),
            (false, true) => format!("{kind} from {lo} up to but not including {hi}"),
        };
        if self.off {
            s += ", or -inf to switch it off";
        }
        s
    }
}

/// `1000000` as `1e6`, `0.5` as `0.5`: bounds in messages.
fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A named, enumerable parameter with a domain; implemented by the three
/// parameter enums so that events, `--set`, sweeps and the web page treat
/// them alike.
pub trait Param: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every parameter, in storage order.
    const ALL: &'static [Self];
    /// The name used in scenario files and events.
    fn name(self) -> &'static str;
    /// The values it may take (validation refuses others; events clamp into it).
    fn domain(self) -> Domain;
    /// The documented range: what sweeps, sensitivity analysis, the web
    /// page's sliders and the liveness test explore.
    fn range(self) -> (f64, f64);
    /// Starting value, fixed, or initial condition only.
    fn role(self) -> Role;
    /// Which model versions use it.
    fn models(self) -> Models;
    /// Its value when a scenario leaves it out, if it may.
    fn default(self) -> Option<f64>;
    /// What it is, in plain words for a student.
    fn label(self) -> &'static str;
    /// The symbol in the model documentation (docs/model.md).
    fn symbol(self) -> &'static str;
    /// What it means and does, in a sentence.
    fn description(self) -> &'static str;
    /// Its position in storage.
    fn index(self) -> usize;
    /// Looks a parameter up by its scenario-file name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }
}

macro_rules! param_enum {
    ($(#[$meta:meta])* $enum:ident {
        $($variant:ident => $name:literal, $domain:expr, range($lo:expr, $hi:expr), $role:ident, $models:ident,
            default $default:expr, $label:literal, $symbol:literal, $desc:literal;)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $enum { $(#[doc = $label] #[doc = ""] #[doc = $desc] $variant,)+ }

        impl Param for $enum {
            const ALL: &'static [Self] = &[$($enum::$variant,)+];
            fn name(self) -> &'static str {
                match self { $($enum::$variant => $name,)+ }
            }
            fn domain(self) -> Domain {
                match self { $($enum::$variant => $domain,)+ }
            }
            fn range(self) -> (f64, f64) {
                match self { $($enum::$variant => ($lo, $hi),)+ }
            }
            fn role(self) -> Role {
                match self { $($enum::$variant => Role::$role,)+ }
            }
            fn models(self) -> Models {
                match self { $($enum::$variant => Models::$models,)+ }
            }
            fn default(self) -> Option<f64> {
                match self { $($enum::$variant => $default,)+ }
            }
            fn label(self) -> &'static str {
                match self { $($enum::$variant => $label,)+ }
            }
            fn symbol(self) -> &'static str {
                match self { $($enum::$variant => $symbol,)+ }
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

/// Bound on weights, costs and other unbounded-in-principle reals: far
/// beyond any sensible value, and small enough that utilities and payoffs
/// stay finite.
const BIG: f64 = 100.0;
const NONE: Option<f64> = None;

param_enum! {
    /// Parameters and state of the world (MODEL.md sections 2, 3.2, 3.3, 3.10).
    WorldParam {
        UnrestMean => "unrest_mean", Domain::open(0.0, 1.0), range(0.05, 0.95), Fixed, All, default NONE,
            "Long-run level of unrest", "logistic(mu_z)",
            "Unrest keeps returning to this level (0 calm, 1 civil war); the coup raises it. The latent mean mu_z is its logit.";
        UnrestPersistence => "unrest_persistence", Domain::closed(0.0, 1.0), range(0.5, 0.99), Fixed, All, default NONE,
            "How long unrest shocks last", "rho",
            "Share of latent unrest carried over from one quarter to the next.";
        UnrestVolatility => "unrest_volatility", Domain::closed(0.0, 5.0), range(0.0, 1.0), Fixed, All, default NONE,
            "Size of the quarterly unrest shocks", "s_z",
            "Standard deviation of the quarterly shock to latent (logit-scale) unrest.";
        Pressure => "pressure", Domain::closed(0.0, 1.0), range(0.0, 1.0), State, All, default NONE,
            "International pressure on the regime (starting value)", "p_0",
            "Pressure from condemnation and sanctions, 0 to 1; it decays, grows with unrest and jumps with impulses.";
        PressureImpulse => "pressure_impulse", Domain::closed(-1.0, 1.0), range(0.0, 1.0), Fixed, All, default Some(0.0),
            "One-quarter jump in pressure", "impulse",
            "Added to pressure in the quarter an event sets it, then reset to 0 (the coup's condemnation).";
        PressureDecay => "pressure_decay", Domain::closed(0.0, 1.0), range(0.02, 0.5), Fixed, All, default NONE,
            "Share of pressure that fades each quarter", "lambda_p",
            "Pressure keeps (1 - lambda_p) of itself each quarter before unrest and impulses add to it.";
        PressureFromUnrest => "pressure_from_unrest", Domain::closed(0.0, 10.0), range(0.0, 0.5), Fixed, All, default NONE,
            "Pressure added per unit of unrest", "kappa_u",
            "Each quarter unrest u adds kappa_u u to pressure: repression draws condemnation.";
        VoteBase => "vote_base", Domain::closed(0.0, 1.0), range(0.0, 0.05), Fixed, All, default NONE,
            "Base chance of a UN embargo vote each quarter", "v_0",
            "Probability that the Security Council votes on an arms embargo in a quarter, before unrest and pressure add to it.";
        VoteUnrestPressure => "vote_unrest_pressure", Domain::closed(0.0, 10.0), range(0.0, 0.5), Fixed, All, default NONE,
            "Extra chance of a vote per unit of unrest × pressure", "v_1",
            "The vote probability is v_0 + v_1 u p, clamped to [0, 1].";
        Embargo => "embargo", Domain::flag(), range(0.0, 1.0), State, All, default Some(0.0),
            "Whether a UN arms embargo is in force", "embargo",
            "An embargo multiplies each supplier's availability by (1 - embargo_compliance); a vote without a veto or an event starts it.";
        BacklogSlip => "backlog_slip", Domain::closed(0.0, 40.0), range(0.0, 4.0), Initial, V3, default NONE,
            "Mean delay of a known order's deliveries (quarters)", "s_O",
            "Each run delays every [[backlog]] entry's schedule by its own Poisson number of quarters of this mean: arms deliveries run late, rarely early.";
        TraitSpread => "trait_spread", Domain::closed(0.0, 2.0), range(0.0, 0.6), Initial, V3, default NONE,
            "Uncertainty of the suppliers' political traits, drawn per run", "s_g",
            "Each run multiplies every supplier's influence appetite, strategic value, reputation cost, stability stake and stance cost by its own mean-one log-normal draw of this spread, and moves its sale willingness on the logit scale by as much: bands then carry what is not known about motives.";
    }
}

param_enum! {
    /// Parameters of the buyer (MODEL.md sections 2, 3.4, 3.6, 3.7).
    BuyerParam {
        Budget => "budget", Domain::above(0.0, 1e6), range(10.0, 200.0), Fixed, All, default NONE,
            "Mean arms budget per quarter (TIV millions)", "B_bar",
            "The quarter's budget is this times log-normal noise, times (1 + gamma_u u), times the budget multiplier.";
        BudgetVolatility => "budget_volatility", Domain::closed(0.0, 1.0), range(0.0, 0.5), Fixed, All, default NONE,
            "Quarter-to-quarter budget noise", "s_B",
            "Log-normal spread of the quarterly budget around its mean.";
        BudgetUnrest => "budget_unrest", Domain::closed(0.0, 10.0), range(0.0, 2.0), Fixed, All, default NONE,
            "Extra budget per unit of unrest (counter-insurgency)", "gamma_u",
            "Unrest raises demand for arms: the budget is multiplied by (1 + gamma_u u).";
        BudgetMultiplier => "budget_multiplier", Domain::closed(0.0, 10.0), range(0.5, 1.5), Fixed, All, default Some(1.0),
            "Budget multiplier (for example sanctions on the military's revenue)", "M_t",
            "Multiplies the budget; events use it for sanctions on revenue or windfalls.";
        Depreciation => "depreciation", Domain::above(0.0, 1.0), range(0.005, 0.05), Fixed, All, default NONE,
            "Share of installed equipment retired each quarter", "delta",
            "Installed stock keeps (1 - delta) of itself each quarter; 0.0125 is a 20-year service life.";
        PriceWeight => "price_weight", Domain::closed(-BIG, BIG), range(0.0, 5.0), Fixed, All, default NONE,
            "How much the buyer minds price", "beta_price",
            "Utility lost per unit of price index (after discount).";
        QualityWeight => "quality_weight", Domain::closed(-BIG, BIG), range(0.0, 3.0), Fixed, All, default NONE,
            "How much the buyer values quality", "beta_quality",
            "Utility gained per unit of quality.";
        SupportWeight => "support_weight", Domain::closed(-BIG, BIG), range(0.0, 4.0), Fixed, All, default NONE,
            "How much the buyer values political support", "beta_support",
            "Utility per unit of a supplier's support stance, before isolation raises it.";
        IsolationWeight => "isolation_weight", Domain::closed(0.0, BIG), range(0.0, 4.0), Fixed, All, default NONE,
            "How much isolation raises the value of support", "kappa_iso",
            "Support is worth beta_support (1 + kappa_iso p): the more pressure, the more an ally matters.";
        DiversificationWeight => "diversification_weight", Domain::closed(-BIG, BIG), range(0.0, 4.0), Fixed, V1, default NONE,
            "(model v1) Value of diversifying away from the dominant supplier", "beta_div",
            "v1's term beta_div (H - s_i); it cancels in the choice and acts as a negative lock-in (v2 replaces it by the dependence ceiling).";
        LockInWeight => "lock_in_weight", Domain::closed(-BIG, BIG), range(0.0, 3.0), Fixed, All, default NONE,
            "Preference for suppliers already installed (spares, training)", "beta_lock",
            "Utility per unit of a supplier's share: spares, training and doctrine favour the incumbent.";
        DependenceWeight => "dependence_weight", Domain::closed(0.0, 1000.0), range(0.0, 20.0), Fixed, FromV2, default NONE,
            "Penalty for depending on one supplier too much", "beta_dep",
            "Utility lost is beta_dep max(0, s_i - s_bar)^2: it bites only above the dependence ceiling.";
        DependenceCeiling => "dependence_ceiling", Domain::closed(0.0, 1.0), range(0.2, 0.8), Fixed, FromV2, default NONE,
            "Share above which the buyer feels over-dependent", "s_bar",
            "Committed share of one supplier above which the dependence penalty starts.";
        OutsideOption => "outside_option", Domain::closed(-BIG, BIG).or_off(), range(-3.0, 1.0), Fixed, FromV2, default Some(f64::NEG_INFINITY),
            "Appeal of not buying abroad (domestic production, waiting)", "V_0",
            "Utility of the outside option; its share of the budget is not spent abroad. -inf switches it off.";
        Temperature => "temperature", Domain::closed(0.01, BIG), range(0.3, 3.0), Fixed, All, default NONE,
            "Randomness of the buyer's choices", "tau",
            "Choice probabilities are softmax(V / tau): higher means more random, lower more decisive.";
        ContractsPerQuarter => "contracts_per_quarter", Domain::above(0.0, BIG), range(0.5, 4.0), Fixed, All, default NONE,
            "Mean number of contracts signed per quarter", "lambda_c",
            "In contracts mode the number of contracts a quarter is Poisson with this mean.";
        ContractSpread => "contract_spread", Domain::closed(0.0, 3.0), range(0.0, 1.5), Fixed, All, default NONE,
            "How lumpy contracts are", "s_v",
            "Log-normal spread of contract sizes around budget / lambda_c.";
        Carryover => "carryover", Domain::closed(0.0, 1.0), range(0.0, 1.0), Initial, V3, default NONE,
            "Share of the steady order book still undelivered at the start", "kappa_0",
            "v3 starts each supplier's pipeline at this share of the order book that orders at its recent rate would leave (v2 assumes all of it); orders known from the record ([[backlog]]) come on top.";
    }
}

param_enum! {
    /// Parameters and state of one supplier (MODEL.md sections 2, 3.6-3.10).
    SupplierParam {
        Share => "share", Domain::closed(0.0, 1.0), range(0.0, 1.0), Initial, V1, default NONE,
            "(model v1) Initial share of the installed base", "s_i(0)",
            "v1 starts the installed stock at share x budget / depreciation; shares sum to 1.";
        Stock => "stock", Domain::closed(0.0, 1e9), range(0.0, 5000.0), Initial, FromV2, default NONE,
            "Installed equipment from this supplier at the start (TIV millions)", "S_i(0)",
            "What the buyer operates at the start, from SIPRI's deliveries depreciated (scripts: `armsim data installed-base`).";
        RecentDeliveries => "recent_deliveries", Domain::closed(0.0, 1e6), range(0.0, 100.0), Initial, FromV2, default NONE,
            "Recent deliveries per quarter (TIV millions)", "r_i",
            "Fills the rolling window and the order book at the start, as if orders had come at this rate every quarter.";
        Support => "support", Domain::closed(0.0, 1.0), range(0.0, 1.0), State, All, default NONE,
            "Political support for the regime (starting value)", "sigma_0",
            "Stance: 0 condemns, 1 unconditional support. It then adapts each quarter unless hold_support is true.";
        HoldSupport => "hold_support", Domain::flag(), range(0.0, 1.0), Fixed, All, default Some(0.0),
            "Keep the support stance fixed", "-",
            "true keeps the stance at its starting value (events can still change it): \"what if Russia had condemned the coup?\"";
        Discount => "discount", Domain::closed(0.0, 1.0), range(0.0, 0.3), State, All, default Some(0.0),
            "Price discount (starting value)", "d_0",
            "Share of the price it gives up; kept within [0, max_discount]. In v1 and v2 it adapts unless hold_discount is true; in v3 it is a scenario switch that only events change.";
        HoldDiscount => "hold_discount", Domain::flag(), range(0.0, 1.0), Fixed, UpToV2, default Some(0.0),
            "Keep the discount fixed", "-",
            "true keeps the discount at its starting value (events can still change it).";
        MaxDiscount => "max_discount", Domain::below(0.0, 1.0), range(0.0, 0.5), Fixed, UpToV2, default NONE,
            "Largest discount it will give", "d_max",
            "Upper bound of the discount.";
        Availability => "availability", Domain::closed(0.0, 1.0), range(0.0, 1.0), Fixed, All, default Some(1.0),
            "How far the buyer can get its arms (sanctions, capacity)", "a_i",
            "Enters the utility as ln a_i: 0 makes it impossible to buy from (and cancels its due deliveries in v2, holds them in v3); an embargo multiplies it further.";
        Price => "price", Domain::above(0.0, BIG), range(0.5, 1.5), Fixed, All, default NONE,
            "Price index", "c_i",
            "Relative price of its arms.";
        Quality => "quality", Domain::closed(-BIG, BIG), range(0.3, 1.2), Fixed, All, default NONE,
            "Quality of its arms, as the buyer sees it", "q_i",
            "Enters the buyer's utility times quality_weight.";
        UnitCost => "unit_cost", Domain::closed(0.0, BIG), range(0.3, 1.0), Fixed, All, default NONE,
            "What a unit costs it to supply", "m_i",
            "Its margin per unit is price x (1 - discount) - unit_cost.";
        ExportPressure => "export_pressure", Domain::closed(0.0, BIG), range(0.0, 1.5), Fixed, All, default NONE,
            "How much arms revenue matters to it", "x_i",
            "Revenue is weighted by (1 + x_i): weak home orders push a supplier to export.";
        InfluenceAppetite => "influence_appetite", Domain::closed(0.0, BIG), range(0.0, 2.0), Fixed, All, default NONE,
            "Value it puts on influence over the regime", "g_i",
            "Support is worth g_i s_i to it: influence is share times support.";
        StrategicValue => "strategic_value", Domain::closed(0.0, BIG), range(0.0, 1.0), Fixed, FromV2, default NONE,
            "Extra value of a sale to a regime it backs", "v_i",
            "Each unit sold is worth v_i sigma on top of its margin (a foothold, influence).";
        Reputation => "reputation", Domain::closed(0.0, BIG), range(0.0, 2.0), Fixed, All, default NONE,
            "Reputation cost of support under pressure", "r_i",
            "Support costs it r_i p per unit: backing a condemned regime hurts its standing.";
        StabilityStake => "stability_stake", Domain::closed(0.0, BIG), range(0.0, 1.5), Fixed, All, default NONE,
            "What it risks if the regime's turmoil spreads (projects, borders)", "e_i",
            "v2: support costs it e_i u per unit (projects at risk from unrest make it keep its distance). v3: support gains e_i u per unit below the detach threshold (a patron with a stake backs the state's survival as unrest rises).";
        DetachThreshold => "detach_threshold", Domain::below(0.0, 1.0), range(0.4, 0.95), Fixed, All, default NONE,
            "Unrest level past which support becomes costly", "theta_i",
            "Above this unrest level the spill-over cost starts: where it would rather detach.";
        Spillover => "spillover", Domain::closed(0.0, BIG), range(0.0, 10.0), Fixed, All, default NONE,
            "Cost of support once unrest passes the threshold", "h_i",
            "Support costs it h_i max(0, u - theta_i) / (1 - theta_i) per unit.";
        Veto => "veto", Domain::flag(), range(0.0, 1.0), Fixed, All, default Some(0.0),
            "Holds a UN Security Council veto", "veto",
            "Only veto holders can block an embargo vote.";
        VetoPropensity => "veto_propensity", Domain::closed(0.0, 1.0), range(0.0, 1.0), Fixed, FromV2, default Some(0.0),
            "Chance it vetoes an embargo, whatever its arms stance", "nu_i",
            "A veto holder vetoes with probability clamp01(nu_i + nu_i^sigma sigma_i).";
        VetoSlope => "veto_slope", Domain::closed(-1.0, 1.0), range(0.0, 1.0), Fixed, FromV2, default Some(0.0),
            "Extra veto chance per unit of support", "nu_i^sigma",
            "How much its arms stance adds to its veto propensity.";
        EmbargoCompliance => "embargo_compliance", Domain::closed(0.0, 1.0), range(0.0, 1.0), Fixed, All, default NONE,
            "How far it obeys an embargo (1 = fully)", "k_i",
            "Under an embargo its availability is multiplied by (1 - k_i).";
        AdaptationRate => "adaptation_rate", Domain::closed(0.0, 1.0), range(0.0, 1.0), Fixed, V1, default NONE,
            "(model v1) How far it moves toward a better stance each quarter", "eta",
            "v1's hill-climbing keeps this fraction of a better candidate's change.";
        ExploreSupport => "explore_support", Domain::closed(0.0, 1.0), range(0.0, 0.2), Fixed, V1, default NONE,
            "(model v1) Size of the stance changes it tries", "w_sigma",
            "Standard deviation of v1's candidate stance.";
        ExploreDiscount => "explore_discount", Domain::closed(0.0, 1.0), range(0.0, 0.1), Fixed, V1, default NONE,
            "(model v1) Size of the discount changes it tries", "w_d",
            "Standard deviation of v1's candidate discount.";
        StanceSpeed => "stance_speed", Domain::closed(0.0, 1.0), range(0.0, 0.5), Fixed, FromV2, default NONE,
            "Largest change of its stance in one quarter", "eta_i",
            "The stance moves by eta_i tanh(slope / stance_scale) a quarter: high for a supplier that can detach easily.";
        StanceScale => "stance_scale", Domain::closed(0.001, BIG), range(0.1, 2.0), Fixed, FromV2, default NONE,
            "Payoff slope that moves its stance at about three quarters of full speed", "s_i^sigma",
            "Smaller means stance moves are closer to full steps; larger means more graded.";
        DiscountSpeed => "discount_speed", Domain::closed(0.0, 1.0), range(0.0, 0.1), Fixed, V2, default NONE,
            "Largest change of its discount in one quarter", "eta_i^d",
            "The discount moves by eta_i^d tanh(slope / discount_scale) a quarter.";
        DiscountScale => "discount_scale", Domain::closed(0.001, BIG), range(0.1, 2.0), Fixed, V2, default NONE,
            "Payoff slope that moves its discount at about three quarters of full speed", "s_i^d",
            "Smaller means discount moves are closer to full steps.";
        DeliveryStart => "delivery_start", Domain::whole(0.0, 40.0), range(0.0, 8.0), Fixed, FromV2, default Some(2.0),
            "Quarters from an order to its first delivery", "l0_i",
            "An order placed in quarter t starts arriving in quarter t + l0_i.";
        DeliveryQuarters => "delivery_quarters", Domain::whole(1.0, 40.0), range(1.0, 12.0), Fixed, FromV2, default Some(6.0),
            "Quarters over which an order is delivered", "L_i",
            "An order arrives in L_i equal parts, one a quarter.";
        SaleWillingness => "sale_willingness", Domain::closed(0.0, 1.0), range(0.0, 1.0), Fixed, V3, default NONE,
            "Willingness to sell to a condemned regime, whatever its politics", "w_i",
            "Selling apart from backing: under pressure p the buyer values a seller by beta_support kappa_iso p w_i, so a supplier that sells without endorsing (India, France) keeps its customer while it condemns.";
        StanceCost => "stance_cost", Domain::closed(0.0, BIG), range(0.0, 2.0), Fixed, V3, default NONE,
            "Cost of committing to the regime (what it risks with its other partners)", "k_i",
            "Support costs it k_i sigma^2 / 2: a state that hedges settles inside [0, 1] where its gains from backing equal k_i sigma.";
        Suspension => "suspension", Domain::closed(0.0, 1.0), range(0.0, 1.0), State, V3, default Some(0.0),
            "Share of due deliveries it holds back (a suspension)", "h_i",
            "Deliveries due are held at this share (all of them while its availability is 0) and released over L_i quarters once lifted, unless cancelled. A partial cut in availability restricts new orders only: contracts signed are delivered unless a suspension holds them.";
        CancelHeld => "cancel_held", Domain::closed(0.0, 1.0), range(0.0, 1.0), Fixed, V3, default Some(0.0),
            "Share of held deliveries cancelled rather than deferred", "c_i^h",
            "0 defers every held delivery (it arrives when the hold is lifted); 1 cancels them, as v2 did while a supplier was unavailable.";
        TiedBudget => "tied_budget", Domain::closed(0.0, 1e6), range(0.0, 20.0), Fixed, V3, default Some(0.0),
            "Money tied to buying from it each quarter (military aid, credit; TIV millions)", "T_i",
            "Ordered from this supplier each quarter it is available, on top of the buyer's own budget: aid that must be spent there, or a third party's financing.";
        WindfallOrder => "windfall_order", Domain::closed(0.0, 1e6), range(0.0, 200.0), Fixed, V3, default Some(0.0),
            "A one-quarter order placed with it (TIV millions)", "W_i",
            "Ordered from this supplier in the quarter an event sets it, then reset to 0: a windfall sale or a gift that the timeline dates.";
    }
}

/// Room for the parameters of any kind (the most, a supplier's, are 38).
const MAX_PARAMS: usize = 64;

/// Values of every parameter of one kind, indexed by the parameter enum.
///
/// A fixed-size array rather than a vector: the engine reads parameters by
/// constant index hundreds of times a quarter, and an index known at compile
/// time to lie inside the array needs no bounds check (those checks were 8%
/// of a v2 run's instructions). Slots past `P::ALL` stay 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<P: Param> {
    values: [f64; MAX_PARAMS],
    _kind: std::marker::PhantomData<P>,
}

impl<P: Param> Params<P> {
    /// Builds from a lookup; `value(p)` is called once for each parameter.
    /// Values are not checked here: only validation puts them in a scenario.
    pub fn from_fn(mut value: impl FnMut(P) -> f64) -> Self {
        const { assert!(P::ALL.len() <= MAX_PARAMS, "raise MAX_PARAMS") };
        let mut values = [0.0; MAX_PARAMS];
        for &p in P::ALL {
            values[p.index()] = value(p);
        }
        Params {
            values,
            _kind: std::marker::PhantomData,
        }
    }

    /// Applies an event's operation, keeping the result in the parameter's domain.
    pub fn apply(&mut self, param: P, op: Op, value: f64) {
        let slot = &mut self.values[param.index()];
        *slot = param.domain().clamp(op.apply(*slot, value));
    }

    /// Sets a value (the caller has checked it).
    pub(crate) fn set(&mut self, param: P, value: f64) {
        self.values[param.index()] = value;
    }

    /// Whether `param` is a flag that is set.
    pub fn is_set(&self, param: P) -> bool {
        self[param] == 1.0
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

/// One supplier: its name and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Supplier {
    pub(crate) name: String,
    pub(crate) params: Params<SupplierParam>,
    pub(crate) profile: Option<String>,
}

impl Supplier {
    /// Unique name, used in outputs and events.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shared profile its traits came from, if it named one
    /// ([`crate::scenario::profiles`]): calibration across cases sets a
    /// profile's trait in every supplier that names it.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// Parameters, including the starting stance and discount.
    pub fn params(&self) -> &Params<SupplierParam> {
        &self.params
    }
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

/// A parameter of a scenario: of the world, the buyer or one supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A parameter of the world.
    World(WorldParam),
    /// A parameter of the buyer.
    Buyer(BuyerParam),
    /// A parameter of the supplier at this index.
    Supplier(usize, SupplierParam),
}

impl Target {
    /// The parameter's domain.
    pub fn domain(self) -> Domain {
        match self {
            Target::World(p) => p.domain(),
            Target::Buyer(p) => p.domain(),
            Target::Supplier(_, p) => p.domain(),
        }
    }

    /// The parameter's documented range.
    pub fn range(self) -> (f64, f64) {
        match self {
            Target::World(p) => p.range(),
            Target::Buyer(p) => p.range(),
            Target::Supplier(_, p) => p.range(),
        }
    }

    /// The parameter's role.
    pub fn role(self) -> Role {
        match self {
            Target::World(p) => p.role(),
            Target::Buyer(p) => p.role(),
            Target::Supplier(_, p) => p.role(),
        }
    }

    /// Which model versions use it.
    pub fn models(self) -> Models {
        match self {
            Target::World(p) => p.models(),
            Target::Buyer(p) => p.models(),
            Target::Supplier(_, p) => p.models(),
        }
    }

    /// The parameter's file name (without its entity).
    pub fn param_name(self) -> &'static str {
        match self {
            Target::World(p) => p.name(),
            Target::Buyer(p) => p.name(),
            Target::Supplier(_, p) => p.name(),
        }
    }

    /// Its plain-words label.
    pub fn label(self) -> &'static str {
        match self {
            Target::World(p) => p.label(),
            Target::Buyer(p) => p.label(),
            Target::Supplier(_, p) => p.label(),
        }
    }
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
    /// Its index among the file's `[[events]]` (what `--set events.INDEX` counts).
    pub index: usize,
}

/// A known order not yet delivered at the start (`[[backlog]]`, MODEL.md
/// section 5): delivered in equal parts from `first` to `last` (0-based
/// quarters, inclusive) whatever happens later, unless the supplier's
/// availability falls to 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    /// The supplier's index.
    pub supplier: usize,
    /// Total value, TIV millions.
    pub value: f64,
    /// First quarter of delivery.
    pub first: u32,
    /// Last quarter of delivery.
    pub last: u32,
    /// What the order is.
    pub note: String,
}

/// Longest horizon accepted, in quarters (a thousand years).
pub const MAX_QUARTERS: u32 = 4000;
/// Most suppliers a scenario may have.
pub const MAX_SUPPLIERS: usize = 64;
/// Most events a scenario may have.
pub const MAX_EVENTS: usize = 10_000;
/// Most backlog entries a scenario may have.
pub const MAX_BACKLOG: usize = 10_000;
/// Most runs one study may have: summaries hold exact 128-bit sums of
/// values up to 2^32, which stay exact up to this many runs.
pub const MAX_RUNS: u64 = 1 << 32;

/// A validated study: the model, its timeline and the run settings.
///
/// Built only by [`crate::scenario`] (validation) and changed only by
/// [`Scenario::set_param`] and the run-setting setters, which check what
/// they are given: every `Scenario` is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) model: ModelVersion,
    pub(crate) start: Quarter,
    pub(crate) quarters: u32,
    pub(crate) runs: u64,
    pub(crate) seed: u64,
    pub(crate) procurement: Procurement,
    pub(crate) world: Params<WorldParam>,
    pub(crate) buyer_name: String,
    pub(crate) buyer: Params<BuyerParam>,
    pub(crate) suppliers: Vec<Supplier>,
    pub(crate) events: Vec<Event>,
    pub(crate) backlog: Vec<Backlog>,
    pub(crate) compare: Vec<(usize, usize)>,
}

/// Why [`Scenario::set_param`] refused a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The value is outside the parameter's domain.
    #[error("{path}: found {value}, expected {expected}")]
    OutOfDomain {
        /// The parameter's path, such as `suppliers.Russia.support`.
        path: String,
        /// The value given.
        value: f64,
        /// What is allowed.
        expected: String,
    },
    /// The parameter does not belong to the scenario's model version.
    #[error("{path} is a parameter of model {models}, and this scenario runs model {model}")]
    OtherModel {
        /// The parameter's path.
        path: String,
        /// Which models use it.
        models: &'static str,
        /// The scenario's model.
        model: ModelVersion,
    },
    /// No supplier has this index.
    #[error("no supplier {index}: the scenario has {count}")]
    NoSupplier {
        /// The index given.
        index: usize,
        /// Suppliers in the scenario.
        count: usize,
    },
    /// A setting that must stay consistent with others would not (v1 shares
    /// must sum to 1, a discount must not exceed its maximum).
    #[error("{path}: {reason}")]
    Inconsistent {
        /// The parameter's path.
        path: String,
        /// Why.
        reason: String,
    },
}

impl Scenario {
    /// Short identifier (the scenario file's stem); names the output directory.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Human-readable name, used in titles.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The model version it runs.
    pub fn model(&self) -> ModelVersion {
        self.model
    }
    /// First simulated quarter.
    pub fn start(&self) -> Quarter {
        self.start
    }
    /// Number of quarters each run simulates.
    pub fn quarters(&self) -> u32 {
        self.quarters
    }
    /// Number of Monte Carlo runs.
    pub fn runs(&self) -> u64 {
        self.runs
    }
    /// Master seed; run `k` uses ChaCha stream `k` of it.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Procurement mode.
    pub fn procurement(&self) -> Procurement {
        self.procurement
    }
    /// World parameters and initial state.
    pub fn world(&self) -> &Params<WorldParam> {
        &self.world
    }
    /// The buyer's name.
    pub fn buyer_name(&self) -> &str {
        &self.buyer_name
    }
    /// Buyer parameters.
    pub fn buyer(&self) -> &Params<BuyerParam> {
        &self.buyer
    }
    /// Suppliers, in file order (adaptation follows this order).
    pub fn suppliers(&self) -> &[Supplier] {
        &self.suppliers
    }
    /// Timeline, sorted by quarter; events of one quarter keep file order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    /// Known orders at the start (v2).
    pub fn backlog(&self) -> &[Backlog] {
        &self.backlog
    }
    /// Ordered supplier pairs `(a, b)` whose rolling shares are compared.
    pub fn compare(&self) -> &[(usize, usize)] {
        &self.compare
    }

    /// The label of 0-based quarter `t`, such as `2021Q1`.
    pub fn label(&self, t: u32) -> Quarter {
        self.start.plus(t)
    }

    /// Index of the supplier called `name`.
    pub fn supplier_index(&self, name: &str) -> Option<usize> {
        self.suppliers.iter().position(|s| s.name == name)
    }

    /// The value of a parameter at the start.
    ///
    /// # Panics
    /// If `target` names a supplier index out of range.
    pub fn param(&self, target: Target) -> f64 {
        match target {
            Target::World(p) => self.world[p],
            Target::Buyer(p) => self.buyer[p],
            Target::Supplier(i, p) => self.suppliers[i].params[p],
        }
    }

    /// The path `--set` uses for `target`: `world.KEY`, `buyer.KEY` or
    /// `suppliers.NAME.KEY`.
    pub fn path_of(&self, target: Target) -> String {
        match target {
            Target::World(p) => format!("world.{}", p.name()),
            Target::Buyer(p) => format!("buyer.{}", p.name()),
            Target::Supplier(i, p) => match self.suppliers.get(i) {
                Some(s) => format!("suppliers.{}.{}", s.name, p.name()),
                None => format!("suppliers.{i}.{}", p.name()),
            },
        }
    }

    /// Resolves a path such as `buyer.support_weight` or
    /// `suppliers.Russia.stance_speed` (or `suppliers.0.stance_speed`) to a
    /// parameter of this scenario.
    pub fn target(&self, path: &str) -> Option<Target> {
        let segments: Vec<&str> = path.trim().split('.').collect();
        match segments.as_slice() {
            ["world", key] => WorldParam::from_name(key).map(Target::World),
            ["buyer", key] => BuyerParam::from_name(key).map(Target::Buyer),
            ["suppliers", who, key] => {
                let index = self.supplier_index(who).or_else(|| {
                    who.parse::<usize>()
                        .ok()
                        .filter(|&i| i < self.suppliers.len())
                })?;
                SupplierParam::from_name(key).map(|p| Target::Supplier(index, p))
            }
            _ => None,
        }
    }

    /// Sets a parameter's starting value, checking it as validation would:
    /// the domain, the model version, and the consistency of the scenario.
    /// This is how sweeps and sensitivity analyses vary a scenario without
    /// re-reading its file.
    ///
    /// # Errors
    /// [`ParamError`] if the value or the parameter does not fit.
    pub fn set_param(&mut self, target: Target, value: f64) -> Result<(), ParamError> {
        let path = self.path_of(target);
        if let Target::Supplier(index, _) = target
            && index >= self.suppliers.len()
        {
            return Err(ParamError::NoSupplier {
                index,
                count: self.suppliers.len(),
            });
        }
        if !target.models().includes(self.model) {
            return Err(ParamError::OtherModel {
                path,
                models: target.models().words(),
                model: self.model,
            });
        }
        let domain = target.domain();
        if !domain.contains(value) {
            return Err(ParamError::OutOfDomain {
                path,
                value,
                expected: domain.describe(),
            });
        }
        match target {
            Target::World(p) => self.world.set(p, value),
            Target::Buyer(p) => self.buyer.set(p, value),
            Target::Supplier(i, p) => {
                let params = &mut self.suppliers[i].params;
                let (discount, max) = match p {
                    SupplierParam::Discount => (value, params[SupplierParam::MaxDiscount]),
                    SupplierParam::MaxDiscount => (params[SupplierParam::Discount], value),
                    _ => (0.0, 0.0),
                };
                if discount > max && SupplierParam::MaxDiscount.models().includes(self.model) {
                    return Err(ParamError::Inconsistent {
                        path,
                        reason: format!("a discount ({discount}) above max_discount ({max})"),
                    });
                }
                if p == SupplierParam::Share {
                    let total: f64 = self
                        .suppliers
                        .iter()
                        .enumerate()
                        .map(|(j, s)| {
                            if j == i {
                                value
                            } else {
                                s.params[SupplierParam::Share]
                            }
                        })
                        .sum();
                    if (total - 1.0).abs() > SHARE_TOLERANCE {
                        return Err(ParamError::Inconsistent {
                            path,
                            reason: format!("shares would sum to {total}, not 1"),
                        });
                    }
                }
                self.suppliers[i].params.set(p, value);
            }
        }
        Ok(())
    }

    /// The same scenario simulated for its first `quarters` quarters only
    /// (events after them dropped): each run's first `quarters` quarters are
    /// the same bits as the full scenario's, since no quarter's draws depend
    /// on the horizon. Calibration uses it to stop at the last observed year.
    ///
    /// # Errors
    /// [`ParamError::OutOfDomain`] unless `1 <= quarters <= self.quarters()`.
    pub fn truncated(&self, quarters: u32) -> Result<Scenario, ParamError> {
        if !(1..=self.quarters).contains(&quarters) {
            return Err(ParamError::OutOfDomain {
                path: "run.quarters".into(),
                value: f64::from(quarters),
                expected: format!("a whole number from 1 to {}", self.quarters),
            });
        }
        let mut s = self.clone();
        s.quarters = quarters;
        s.events.retain(|e| e.quarter < quarters);
        Ok(s)
    }

    /// The same scenario without the events after quarter `last` (0-based):
    /// what was known at that quarter. The case library's ex-ante forecasts
    /// drop the timeline after the shock this way.
    pub fn known_at(&self, last: u32) -> Scenario {
        let mut s = self.clone();
        s.events.retain(|e| e.quarter <= last);
        s
    }

    /// Sets the number of runs (at least 1, at most [`MAX_RUNS`]).
    ///
    /// # Errors
    /// [`ParamError::OutOfDomain`] outside that range.
    pub fn set_runs(&mut self, runs: u64) -> Result<(), ParamError> {
        if !(1..=MAX_RUNS).contains(&runs) {
            return Err(ParamError::OutOfDomain {
                path: "run.runs".into(),
                value: runs as f64,
                expected: format!("a whole number from 1 to {MAX_RUNS}"),
            });
        }
        self.runs = runs;
        Ok(())
    }

    /// Sets the master seed (0 to 2^63 - 1, what a TOML integer can hold).
    ///
    /// # Errors
    /// [`ParamError::OutOfDomain`] above 2^63 - 1.
    pub fn set_seed(&mut self, seed: u64) -> Result<(), ParamError> {
        if seed > i64::MAX as u64 {
            return Err(ParamError::OutOfDomain {
                path: "run.seed".into(),
                value: seed as f64,
                expected: "a whole number from 0 to 2^63-1".into(),
            });
        }
        self.seed = seed;
        Ok(())
    }
}

/// Tolerance on v1's initial shares summing to 1.
pub const SHARE_TOLERANCE: f64 = 1e-6;

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
        assert_eq!(Quarter::parse("2021Q3").unwrap().decimal_year(), 2021.5);
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
        p.apply(SupplierParam::DeliveryQuarters, Op::Scale, 3.3);
        assert_eq!(p[SupplierParam::DeliveryQuarters], 2.0);
        let mut w = Params::<WorldParam>::from_fn(|_| 0.5);
        w.apply(WorldParam::UnrestMean, Op::Set, 1.0);
        assert!(w[WorldParam::UnrestMean] < 1.0);
        let mut b = Params::<BuyerParam>::from_fn(|_| 50.0);
        b.apply(BuyerParam::Budget, Op::Scale, f64::INFINITY);
        assert_eq!(
            b[BuyerParam::Budget],
            1e6,
            "an event cannot push a value out of bounds"
        );
        b.apply(BuyerParam::Budget, Op::Add, f64::NAN);
        assert!(b[BuyerParam::Budget] > 0.0);
    }

    #[test]
    fn domains_accept_and_describe_what_they_should() {
        let unit = Domain::closed(0.0, 1.0);
        assert!(unit.contains(0.0) && unit.contains(1.0) && !unit.contains(1.01));
        assert!(!unit.contains(f64::NAN) && !unit.contains(f64::INFINITY));
        let open = Domain::open(0.0, 1.0);
        assert!(!open.contains(0.0) && open.contains(0.5));
        let whole = Domain::whole(1.0, 40.0);
        assert!(whole.contains(6.0) && !whole.contains(6.5) && !whole.contains(0.0));
        assert_eq!(whole.describe(), "a whole number from 1 to 40");
        let off = Domain::closed(-100.0, 100.0).or_off();
        assert!(off.contains(f64::NEG_INFINITY) && !off.contains(f64::INFINITY));
        assert_eq!(Domain::flag().describe(), "true or false");
        assert_eq!(Domain::above(0.0, 1e6).notation(), "(0, 1e6]");
    }

    #[test]
    fn the_parameter_tables_are_consistent() {
        fn check<P: Param>() {
            for &p in P::ALL {
                assert_eq!(P::from_name(p.name()), Some(p));
                let (lo, hi) = p.range();
                let d = p.domain();
                assert!(lo < hi, "{}: empty range", p.name());
                assert!(
                    d.contains(lo) || d.clamp(lo) >= lo,
                    "{}: range starts outside its domain",
                    p.name()
                );
                assert!(
                    d.contains(hi),
                    "{}: range ends outside its domain",
                    p.name()
                );
                if let Some(v) = p.default() {
                    assert!(d.contains(v), "{}: default outside its domain", p.name());
                }
                assert!(!p.label().is_empty() && !p.description().is_empty());
                if p.role() == Role::Initial {
                    assert!(p.default().is_none(), "{}", p.name());
                }
            }
        }
        check::<WorldParam>();
        check::<BuyerParam>();
        check::<SupplierParam>();
    }
}
