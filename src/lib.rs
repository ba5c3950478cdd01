//! armsim: a Monte Carlo simulator of arms-market influence.
//!
//! Supplier agents compete to sell arms to a buyer that values diversification
//! and unconditional political support; suppliers adapt their stance and prices
//! while unrest, sanctions and a possible UN arms embargo shape the market. The
//! reference model is documented in `docs/model.md`.
//!
//! The crate is layered (see `ARCHITECTURE.md`):
//! - [`calibrate`] fits parameters to observed statistics (ABC);
//! - [`data`] reads SIPRI's import records and computes calibration targets;
//! - [`scenario`] reads TOML scenario files into validated [`model`] types;
//! - [`engine`] simulates one run, taking its RNG as an argument;
//! - [`summary`] and [`stats`] fold runs into exactly mergeable statistics;
//! - [`executor`] owns the thread policy and runs indexed work in rounds;
//! - [`study`] runs many runs in parallel, reproducibly;
//! - [`output`] writes the CSV, manifest and plots of a study;
//! - [`files`] guards the disk: all-or-nothing writes that never replace
//!   what armsim did not write;
//! - [`lifecycle`] holds what every command's lifecycle shares (notices,
//!   the checkpoint decision), and [`manifest`] the header every
//!   `manifest.json` opens with and its one writer;
//! - [`experiment`] builds designs over parameter ranges (grids, Latin
//!   hypercubes, Saltelli and Morris designs) and computes sensitivity indices
//!   from their outputs, independently of the engine.
//!
//! ```
//! let loaded = armsim::scenario::load_baseline(&["run.runs=200".into()]).unwrap();
//! let summary = armsim::study::Study::new(&loaded.scenario).threads(1).run().unwrap().summary;
//! assert_eq!(summary.runs(), 200);
//! ```

pub mod calibrate;
pub mod data;
pub mod engine;
pub mod evaluate;
pub mod executor;
pub mod experiment;
pub mod files;
pub mod lifecycle;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod output;
pub mod runner;
pub mod scenario;
pub mod state;
pub mod stats;
pub mod study;
pub mod summary;
