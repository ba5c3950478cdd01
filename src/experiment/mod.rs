//! Experiments over parameter space: where to put the design points of a sweep
//! or sensitivity study ([`design`]) and how to read global sensitivity
//! indices back from the scalar output measured at each point
//! ([`sensitivity`]).
//!
//! This module is pure numerics: it knows nothing of the engine, scenarios or
//! files. A caller turns each design point into whatever it measures (for
//! armsim, a Monte Carlo study reduced to one number) and hands the outputs
//! back in design order. Every design and every bootstrap is a deterministic
//! function of its arguments and seed, computed on one thread.
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

pub mod design;
pub mod sensitivity;
