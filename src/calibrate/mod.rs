//! Calibration: fitting a stochastic model's parameters to observed summary
//! statistics (for armsim, SIPRI's pre-coup record read by [`crate::data`]).
//!
//! The modules know nothing of the simulator: a model is any function from a
//! parameter vector and a random stream index to summary statistics.
//!
//! - [`prior`]: prior distributions ([`prior::Prior`]) and named parameters;
//! - [`posterior`]: weighted summaries of a population (means, standard
//!   deviations, quantiles, correlations).

pub mod posterior;
pub mod prior;
