//! Calibration: fitting a stochastic model's parameters to observed summary
//! statistics (for armsim, SIPRI's pre-coup record read by [`crate::data`]).
//!
//! The modules know nothing of the simulator: a model is any function from a
//! parameter vector and a random stream index to summary statistics.
//!
//! - [`prior`]: prior distributions ([`prior::Prior`]) and named parameters;
//! - [`abc`]: approximate Bayesian computation, rejection and ABC-SMC
//!   (Toni et al. 2009; Beaumont et al. 2009), parallel, reproducible and
//!   resumable;
//! - [`history`]: a history-matching wave (Vernon et al. 2010) that rules
//!   out implausible parameter values and narrows the priors before ABC;
//! - [`population`]: a complete generation and its checksummed file, for
//!   checkpoints and resumes;
//! - [`posterior`]: weighted summaries of a population (means, standard
//!   deviations, quantiles, correlations).

pub mod abc;
pub mod history;
pub mod population;
pub mod posterior;
pub mod prior;
