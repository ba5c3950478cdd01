//! A complete ABC generation, [`Population`], and its binary file: what an
//! ABC-SMC run checkpoints and resumes from.
//!
//! A population holds the weighted particles, their distances and simulated
//! statistics, the tolerance, the simulation counts, the history of earlier
//! generations ([`GenerationStats`]) and a fingerprint (SHA-256) of the
//! problem and settings that produced it, which [`super::abc::Smc::resume`]
//! compares before continuing. The encoding is: magic `ARMSIMAB`, format
//! version, payload length, payload, and a SHA-256 of everything before it;
//! floats are stored as their bits, so a decoded population is the same
//! bits as the encoded one. [`Population::decode`] verifies the checksum
//! before reading the payload and bounds every declared size by the bytes
//! present (and a fixed maximum) before allocating, so a corrupt or forged
//! file gives a [`DecodeError`], never a panic or a huge allocation.

use std::path::{Path, PathBuf};

use super::abc::{MAX_GENERATIONS, MAX_PARAMS, MAX_POPULATION, MAX_STATISTICS};
use super::posterior::{Posterior, effective_sample_size};
use crate::files::{self, FileError};
use crate::state::{self, FrameError};

/// Why bytes are not a population ([`Population::decode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame around the payload is wrong: another kind of file, another
    /// format, a truncated copy or a checksum that fails. Nothing in the
    /// payload was read.
    #[error("not a usable ABC population file ({0})")]
    Frame(#[from] FrameError),
    /// The contents are inconsistent.
    #[error("malformed: {what}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
    },
}

/// Why a population file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PopulationFileError {
    /// Reading failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing failed, or the path holds something armsim may not replace.
    #[error(transparent)]
    Write(#[from] FileError),
    /// The file is not a valid population.
    #[error("{}: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        source: DecodeError,
    },
}

/// What one generation did, for progress and the outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationStats {
    /// The generation (0 is the prior rejection step).
    pub generation: u32,
    /// Its tolerance.
    pub epsilon: f64,
    /// Candidates simulated in it.
    pub simulations: u64,
    /// Population size over simulations.
    pub acceptance_rate: f64,
    /// Effective sample size of its weights.
    pub ess: f64,
}

/// A complete generation: weighted particles and everything needed to
/// continue from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub(super) fingerprint: [u8; 32],
    pub(super) names: Vec<String>,
    pub(super) generation: u32,
    pub(super) epsilon: f64,
    pub(super) statistics_len: usize,
    pub(super) particles: Vec<f64>,
    pub(super) weights: Vec<f64>,
    pub(super) distances: Vec<f64>,
    pub(super) statistics: Vec<f64>,
    pub(super) simulations: u64,
    pub(super) total_simulations: u64,
    pub(super) history: Vec<GenerationStats>,
}

impl Population {
    /// The generation.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Its tolerance: every particle's distance is at most this.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Number of particles.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there are no particles (never, for a population built here).
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Parameter names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// Particle `i`'s parameters (`None` past the end).
    pub fn particle(&self, i: usize) -> Option<&[f64]> {
        self.particles.chunks_exact(self.dim()).nth(i)
    }

    /// All particles, row-major (`len()` rows of `dim()` values).
    pub fn particles(&self) -> &[f64] {
        &self.particles
    }

    /// Normalised importance weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Each particle's distance.
    pub fn distances(&self) -> &[f64] {
        &self.distances
    }

    /// Particle `i`'s simulated statistics, for posterior predictive checks
    /// (`None` past the end).
    pub fn statistics(&self, i: usize) -> Option<&[f64]> {
        if i >= self.len() {
            return None;
        }
        let k = self.statistics_len;
        self.statistics.get(i * k..(i + 1) * k)
    }

    /// Candidates simulated in this generation.
    pub fn simulations(&self) -> u64 {
        self.simulations
    }

    /// Simulations from the start of the run to the end of this generation.
    pub fn total_simulations(&self) -> u64 {
        self.total_simulations
    }

    /// `len() / simulations()`.
    pub fn acceptance_rate(&self) -> f64 {
        self.len() as f64 / self.simulations as f64
    }

    /// Effective sample size of the weights.
    pub fn ess(&self) -> f64 {
        effective_sample_size(&self.weights)
    }

    /// One entry per generation so far, this one last.
    pub fn history(&self) -> &[GenerationStats] {
        &self.history
    }

    /// Weighted posterior summaries.
    pub fn posterior(&self) -> Posterior {
        Posterior::new(&self.names, &self.particles, &self.weights)
    }
}

/// The first bytes of every population file.
pub const MAGIC: &[u8; 8] = state::POPULATION_MAGIC;
/// Format 2 is the state files' one frame ([`crate::state`]); format 1
/// had a frame of its own.
const VERSION: u32 = 2;
/// Magic, version, payload length: the bytes before the payload.
#[cfg(test)]
pub(super) const HEADER: usize = 8 + 4 + 8;
/// The payload's SHA-256, after it.
#[cfg(test)]
pub(super) const CHECKSUM: usize = 32;
const MAX_NAME: usize = 4096;

/// Whether `path` holds a population (by its magic bytes): the only kind of
/// file a population replaces.
pub fn is_population_file(path: &Path) -> bool {
    files::starts_with(path, MAGIC)
}

impl Population {
    /// The binary form: the payload in the state files' one frame (magic,
    /// format version, payload length, payload, its SHA-256). Floats are stored as their bits,
    /// so decoding gives back the same population exactly.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&self.fingerprint);
        p.extend_from_slice(&self.generation.to_le_bytes());
        p.extend_from_slice(&self.epsilon.to_bits().to_le_bytes());
        p.extend_from_slice(&(self.names.len() as u64).to_le_bytes());
        for name in &self.names {
            p.extend_from_slice(&(name.len() as u64).to_le_bytes());
            p.extend_from_slice(name.as_bytes());
        }
        p.extend_from_slice(&(self.statistics_len as u64).to_le_bytes());
        p.extend_from_slice(&(self.weights.len() as u64).to_le_bytes());
        for x in self
            .particles
            .iter()
            .chain(&self.weights)
            .chain(&self.distances)
            .chain(&self.statistics)
        {
            p.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        p.extend_from_slice(&self.simulations.to_le_bytes());
        p.extend_from_slice(&self.total_simulations.to_le_bytes());
        p.extend_from_slice(&(self.history.len() as u64).to_le_bytes());
        for h in &self.history {
            p.extend_from_slice(&h.generation.to_le_bytes());
            p.extend_from_slice(&h.epsilon.to_bits().to_le_bytes());
            p.extend_from_slice(&h.simulations.to_le_bytes());
            p.extend_from_slice(&h.acceptance_rate.to_bits().to_le_bytes());
            p.extend_from_slice(&h.ess.to_bits().to_le_bytes());
        }
        Self::frame(&p)
    }

    /// `payload` in the frame of a population file (magic, format, length,
    /// payload, SHA-256 of the payload). The fuzz target frames arbitrary
    /// bytes so, to reach the payload's decoder behind a valid checksum.
    pub fn frame(payload: &[u8]) -> Vec<u8> {
        state::frame(MAGIC, VERSION, payload)
    }

    /// Decodes [`Population::encode`]'s output, checking the checksum before
    /// reading the contents and every declared size against the bytes
    /// present before allocating.
    ///
    /// # Errors
    /// [`DecodeError`].
    pub fn decode(bytes: &[u8]) -> Result<Population, DecodeError> {
        let mut r = Reader {
            input: state::unframe(MAGIC, VERSION, bytes)?,
        };
        let malformed = |what| DecodeError::Malformed { what };
        let fingerprint: [u8; 32] = array(r.take(32)?);
        let generation = r.u32()?;
        let epsilon = r.f64()?;
        let dim = r.len(MAX_PARAMS, 8)?;
        if dim == 0 {
            return Err(malformed("no parameters"));
        }
        let mut names = Vec::with_capacity(dim);
        for _ in 0..dim {
            let n = r.len(MAX_NAME, 1)?;
            let name =
                std::str::from_utf8(r.take(n)?).map_err(|_| malformed("a name is not UTF-8"))?;
            names.push(name.to_string());
        }
        let statistics_len = r.len(MAX_STATISTICS, 8)?;
        // Each particle needs at least its parameters, weight and distance.
        let per_particle = 8 * (dim + 2 + statistics_len);
        let n = r.len(MAX_POPULATION, per_particle)?;
        if n == 0 {
            return Err(malformed("no particles"));
        }
        let particles = r.f64s(n * dim)?;
        let weights = r.f64s(n)?;
        let distances = r.f64s(n)?;
        let statistics = r.f64s(n * statistics_len)?;
        let simulations = r.u64()?;
        let total_simulations = r.u64()?;
        let generations = r.len(MAX_GENERATIONS as usize, 36)?;
        let mut history = Vec::with_capacity(generations);
        for _ in 0..generations {
            history.push(GenerationStats {
                generation: r.u32()?,
                epsilon: r.f64()?,
                simulations: r.u64()?,
                acceptance_rate: r.f64()?,
                ess: r.f64()?,
            });
        }
        if !r.input.is_empty() {
            return Err(malformed("bytes after the history"));
        }
        let weight_sum: f64 = weights.iter().sum();
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || (weight_sum - 1.0).abs() > 1e-9
        {
            return Err(malformed("weights are not a distribution"));
        }
        if epsilon.is_nan() || epsilon < 0.0 || distances.iter().any(|d| d.is_nan() || *d > epsilon)
        {
            return Err(malformed("a distance exceeds the tolerance"));
        }
        if particles.iter().any(|x| !x.is_finite()) {
            return Err(malformed("a parameter is not finite"));
        }
        if simulations < n as u64 || total_simulations < simulations {
            return Err(malformed("fewer simulations than particles"));
        }
        if history.len() != generation as usize + 1
            || history.last().map(|h| h.generation) != Some(generation)
        {
            return Err(malformed("the history does not end at this generation"));
        }
        Ok(Population {
            fingerprint,
            names,
            generation,
            epsilon,
            statistics_len,
            particles,
            weights,
            distances,
            statistics,
            simulations,
            total_simulations,
            history,
        })
    }

    /// Writes [`Population::encode`] to `path` all or nothing (a temporary
    /// file in the same directory, renamed into place), replacing only a
    /// population file.
    ///
    /// # Errors
    /// [`PopulationFileError::Write`].
    pub fn save(&self, path: &Path) -> Result<(), PopulationFileError> {
        let bytes = self.encode();
        files::write_file_atomically(path, is_population_file, |w| w.write_all(&bytes))?;
        Ok(())
    }

    /// Whether [`Population::save`] may write `path`: nothing is there, or
    /// a population (a damaged one included, which a save replaces).
    /// Asked before the work whose result would be saved there.
    ///
    /// # Errors
    /// [`PopulationFileError::Write`] naming what is there instead.
    pub fn check_replaceable(path: &Path) -> Result<(), PopulationFileError> {
        Ok(files::check_file_replaceable(path, &is_population_file)?)
    }

    /// Reads a file written by [`Population::save`].
    ///
    /// # Errors
    /// [`PopulationFileError::Io`] or [`PopulationFileError::Decode`].
    pub fn load(path: &Path) -> Result<Population, PopulationFileError> {
        let bytes = std::fs::read(path).map_err(|source| PopulationFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Population::decode(&bytes).map_err(|source| PopulationFileError::Decode {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&bytes[..N]);
    a
}

struct Reader<'a> {
    input: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.input.len() < n {
            return Err(DecodeError::Malformed {
                what: "a field runs past the end",
            });
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(array(self.take(4)?)))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(array(self.take(8)?)))
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A declared count, at most `max` and at most what the remaining bytes
    /// can hold at `min_bytes` each: the bound that keeps a corrupt count
    /// from causing a large allocation.
    fn len(&mut self, max: usize, min_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.u64()?;
        if n > max as u64 || n.saturating_mul(min_bytes as u64) > self.input.len() as u64 {
            return Err(DecodeError::Malformed {
                what: "a declared size exceeds the contents",
            });
        }
        Ok(n as usize)
    }

    fn f64s(&mut self, n: usize) -> Result<Vec<f64>, DecodeError> {
        let bytes = self.take(n.checked_mul(8).ok_or(DecodeError::Malformed {
            what: "a declared size exceeds the contents",
        })?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(array(c)))
            .collect())
    }
}
