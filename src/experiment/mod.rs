//! Experiments: what researchers ask of a scenario beyond one study.
//!
//! - [`outcome`]: outcomes, scalar summaries of one run, named once and
//!   shared by every experiment (`rolling_share:Russia@2030Q4`).
//! - [`compare`]: two scenarios run with common random numbers, their
//!   paired differences over time and at the horizon; [`comparing`] is the
//!   lifecycle of the `compare` command (directory, run, write).
//! - [`design`]: where to put the points of a sweep or sensitivity study
//!   (grids, Latin hypercubes, Saltelli and Morris designs), and
//!   [`sensitivity`]: global sensitivity indices read back from the output
//!   measured at each point. These two are pure numerics: they know nothing
//!   of the engine, scenarios or files, and every design and bootstrap is a
//!   deterministic function of its arguments and seed.
//!
//! ```
//! use armsim::experiment::design::{ParamRange, saltelli};
//! use armsim::experiment::sensitivity::{BootstrapConfig, sobol_indices};
//!
//! // y = a + b^2 with a uniform on [0, 1] and b on [0, 2]: Var(a) = 1/12,
//! // Var(b^2) = 16/5 - 16/9, so b explains about 94% of the variance.
//! let ranges = [ParamRange::new("a", 0.0, 1.0)?, ParamRange::new("b", 0.0, 2.0)?];
//! let design = saltelli(&ranges, 512, 7)?;
//! let y: Vec<f64> = design.points().map(|x| x[0] + x[1] * x[1]).collect();
//! let s = sobol_indices(&design, &y, &BootstrapConfig::default())?;
//! let top = s.ranked_by_total()[0];
//! assert_eq!(top.name, "b");
//! assert!((top.first.value - 0.945).abs() < 0.05);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod campaign;
pub mod compare;
pub mod comparing;
pub mod config;
pub mod design;
pub mod outcome;
pub mod points;
pub mod report;
pub mod sensitivity;
pub mod sweep;
