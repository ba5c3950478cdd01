//! Saved study state: checkpoints of a running study and the results of a
//! shard, in one self-describing binary file.
//!
//! A [`StudyState`] carries the resolved scenario (as canonical TOML), its hash,
//! the seed, which runs it covers and the exactly mergeable [`Summary`] of
//! those runs. So `armsim merge` can rebuild a study from shard files alone,
//! and `armsim run --resume` can refuse a checkpoint of another study.

use std::ops::Range;
use std::path::Path;

use crate::scenario::Loaded;
use crate::summary::Summary;

const MAGIC: &[u8; 8] = b"ARMSIMST";
const VERSION: u32 = 1;

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a state file of this armsim.
    #[error("{}: not an armsim state file ({reason})", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The state of a study, or of one shard of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyState {
    /// Scenario identifier.
    pub scenario_id: String,
    /// The resolved scenario, canonical TOML.
    pub scenario_toml: String,
    /// SHA-256 of `scenario_toml`.
    pub scenario_hash: String,
    /// Master seed.
    pub seed: u64,
    /// Runs in the whole study (all shards).
    pub total_runs: u64,
    /// The runs this state is responsible for (a shard, or all).
    pub range: Range<u64>,
    /// Runs `range.start..done` are folded into `summary`.
    pub done: u64,
    /// Wall-clock seconds spent so far.
    pub elapsed_seconds: f64,
    /// The summary of the completed runs.
    pub summary: Summary,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Why shard states cannot be merged into one study. `index` is the
/// position of the offending state in the slice given to [`merge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No states were given.
    #[error("no shards to merge")]
    Empty,
    /// A state belongs to another study (scenario, seed or run count differ).
    #[error("shard {index} is a shard of another study")]
    OtherStudy {
        /// Which state.
        index: usize,
    },
    /// A state has not finished its runs.
    #[error("shard {index} is incomplete ({done} of runs {start}..{end} done)")]
    Incomplete {
        /// Which state.
        index: usize,
        /// Runs done.
        done: u64,
        /// Its first run.
        start: u64,
        /// One past its last run.
        end: u64,
    },
    /// Some runs are in no state.
    #[error("runs {start}..{end} are missing")]
    Missing {
        /// First missing run.
        start: u64,
        /// One past the last missing run.
        end: u64,
    },
    /// Some runs are in two states.
    #[error("runs {start}..{end} overlap")]
    Overlap {
        /// First run counted twice.
        start: u64,
        /// One past the last run counted twice.
        end: u64,
    },
    /// A state's summary has another shape than the first's (a corrupt file).
    #[error("shard {index}'s summary does not fit its scenario")]
    Shape {
        /// Which state.
        index: usize,
    },
}

/// Merges the complete states of the shards of one study into the state of
/// the whole study, checking that they are of the same study and cover every
/// run exactly once. The order of `states` does not matter: the result is the
/// same bits as one process running every run.
///
/// # Errors
/// [`MergeError`] naming the first problem found.
pub fn merge(states: &[StudyState]) -> Result<StudyState, MergeError> {
    let first = states.first().ok_or(MergeError::Empty)?;
    for (index, state) in states.iter().enumerate() {
        if state.scenario_hash != first.scenario_hash
            || state.seed != first.seed
            || state.total_runs != first.total_runs
        {
            return Err(MergeError::OtherStudy { index });
        }
        if !state.is_complete() {
            let (start, end) = (state.range.start, state.range.end);
            return Err(MergeError::Incomplete {
                index,
                done: state.done - start,
                start,
                end,
            });
        }
        if !state.summary.same_shape(&first.summary) {
            return Err(MergeError::Shape { index });
        }
    }
    let mut ranges: Vec<Range<u64>> = states.iter().map(|s| s.range.clone()).collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut covered = 0;
    for r in ranges
        .iter()
        .chain(std::iter::once(&(first.total_runs..first.total_runs)))
    {
        if r.start > covered {
            return Err(MergeError::Missing {
                start: covered,
                end: r.start,
            });
        }
        if r.start < covered {
            return Err(MergeError::Overlap {
                start: r.start,
                end: covered.min(r.end),
            });
        }
        covered = r.end;
    }
    let mut summary = first.summary.clone();
    summary.clear();
    for state in states {
        summary.merge(&state.summary);
    }
    Ok(StudyState {
        range: 0..first.total_runs,
        done: first.total_runs,
        elapsed_seconds: states.iter().map(|s| s.elapsed_seconds).sum(),
        summary,
        ..first.clone()
    })
}

impl StudyState {
    /// The state of runs `range.start..done` of `loaded`'s study, summarised
    /// in `summary`, after `elapsed_seconds` of work.
    pub fn new(
        loaded: &Loaded,
        range: Range<u64>,
        done: u64,
        elapsed_seconds: f64,
        summary: Summary,
    ) -> Self {
        StudyState {
            scenario_id: loaded.scenario.id().to_string(),
            scenario_toml: loaded.resolved_toml.clone(),
            scenario_hash: loaded.hash.clone(),
            seed: loaded.scenario.seed(),
            total_runs: loaded.scenario.runs(),
            range,
            done,
            elapsed_seconds,
            summary,
        }
    }

    /// Whether this state is of `loaded`'s study (same resolved scenario and
    /// seed) and responsible for the runs `range`: whether a study may resume
    /// from it.
    pub fn belongs_to(&self, loaded: &Loaded, range: &Range<u64>) -> bool {
        self.scenario_hash == loaded.hash
            && self.seed == loaded.scenario.seed()
            && self.range == *range
    }

    /// Whether every run of `range` is done.
    pub fn is_complete(&self) -> bool {
        self.done == self.range.end
    }

    /// The binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        put_str(&mut out, env!("CARGO_PKG_VERSION"));
        put_str(&mut out, &self.scenario_id);
        put_str(&mut out, &self.scenario_toml);
        put_str(&mut out, &self.scenario_hash);
        for x in [
            self.seed,
            self.total_runs,
            self.range.start,
            self.range.end,
            self.done,
        ] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&self.elapsed_seconds.to_bits().to_le_bytes());
        self.summary.encode(&mut out);
        out
    }

    /// Decodes [`StudyState::encode`]'s output.
    ///
    /// # Errors
    /// A description of what is malformed.
    pub fn decode(bytes: &[u8]) -> Result<StudyState, String> {
        let mut reader = Reader { input: bytes };
        if reader.bytes(8)? != MAGIC {
            return Err("wrong magic bytes".into());
        }
        let version = u32::from_le_bytes(reader.bytes(4)?.try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(format!(
                "format version {version}, this armsim reads {VERSION}"
            ));
        }
        let _writer_version = reader.string()?;
        let scenario_id = reader.string()?;
        let scenario_toml = reader.string()?;
        let scenario_hash = reader.string()?;
        let seed = reader.u64()?;
        let total_runs = reader.u64()?;
        let range = reader.u64()?..reader.u64()?;
        let done = reader.u64()?;
        let elapsed_seconds = f64::from_bits(reader.u64()?);
        let summary = Summary::decode(&mut reader.input).map_err(|e| e.to_string())?;
        if !reader.input.is_empty() {
            return Err("trailing bytes".into());
        }
        if range.start > range.end
            || !(range.start..=range.end).contains(&done)
            || range.end > total_runs
        {
            return Err("inconsistent run range".into());
        }
        Ok(StudyState {
            scenario_id,
            scenario_toml,
            scenario_hash,
            seed,
            total_runs,
            range,
            done,
            elapsed_seconds,
            summary,
        })
    }

    /// Writes the state to `path` atomically (a temporary file renamed into place).
    ///
    /// # Errors
    /// [`StateError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, &self.encode()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Reads a state file.
    ///
    /// # Errors
    /// [`StateError::Io`] or [`StateError::Malformed`].
    pub fn load(path: &Path) -> Result<StudyState, StateError> {
        let bytes = std::fs::read(path).map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        StudyState::decode(&bytes).map_err(|reason| StateError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
    }
}

struct Reader<'a> {
    input: &'a [u8],
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        if self.input.len() < n {
            return Err("truncated".into());
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.bytes(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u64()? as usize;
        if n > self.input.len() {
            return Err("truncated string".into());
        }
        String::from_utf8(self.bytes(n)?.to_vec()).map_err(|_| "invalid UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_baseline;
    use crate::study::Study;

    fn state() -> StudyState {
        let loaded = load_baseline(&["run.runs=64".into()]).unwrap();
        let summary = Study::new(&loaded.scenario)
            .threads(1)
            .run()
            .unwrap()
            .summary;
        StudyState {
            scenario_id: loaded.scenario.id().to_string(),
            scenario_toml: loaded.resolved_toml.clone(),
            scenario_hash: loaded.hash.clone(),
            seed: loaded.scenario.seed(),
            total_runs: 64,
            range: 0..64,
            done: 64,
            elapsed_seconds: 0.25,
            summary,
        }
    }

    /// The states of `shards` of a study of `runs` runs, and the whole study's.
    fn shards(runs: u64, ranges: &[std::ops::Range<u64>]) -> (Vec<StudyState>, Summary) {
        let loaded = load_baseline(&[format!("run.runs={runs}")]).unwrap();
        let whole = Study::new(&loaded.scenario)
            .threads(1)
            .run()
            .unwrap()
            .summary;
        let states = ranges
            .iter()
            .map(|r| {
                let part = Study::new(&loaded.scenario)
                    .threads(1)
                    .runs(r.clone())
                    .run()
                    .unwrap();
                StudyState::new(&loaded, r.clone(), r.end, 1.0, part.summary)
            })
            .collect();
        (states, whole)
    }

    #[test]
    fn shards_merge_in_any_order_into_the_whole_study() {
        let (mut states, whole) = shards(90, &[0..30, 30..31, 31..90]);
        states.reverse();
        let merged = merge(&states).unwrap();
        assert_eq!(merged.summary, whole);
        assert_eq!(
            (merged.range, merged.done, merged.elapsed_seconds),
            (0..90, 90, 3.0)
        );
    }

    #[test]
    fn merging_checks_coverage_and_provenance() {
        let (states, _) = shards(90, &[0..30, 30..60, 60..90, 20..40]);
        assert_eq!(
            merge(&states[..2]).unwrap_err(),
            MergeError::Missing { start: 60, end: 90 }
        );
        let gap = [states[0].clone(), states[2].clone()];
        assert_eq!(
            merge(&gap).unwrap_err(),
            MergeError::Missing { start: 30, end: 60 }
        );
        let overlap = [
            states[0].clone(),
            states[3].clone(),
            states[1].clone(),
            states[2].clone(),
        ];
        assert_eq!(
            merge(&overlap).unwrap_err(),
            MergeError::Overlap { start: 20, end: 30 }
        );
        let mut other = states[..3].to_vec();
        other[1].seed += 1;
        assert_eq!(
            merge(&other).unwrap_err(),
            MergeError::OtherStudy { index: 1 }
        );
        let mut unfinished = states[..3].to_vec();
        unfinished[2].done = 70;
        assert!(matches!(
            merge(&unfinished).unwrap_err(),
            MergeError::Incomplete {
                index: 2,
                done: 10,
                ..
            }
        ));
        assert_eq!(merge(&[]).unwrap_err(), MergeError::Empty);
    }

    #[test]
    fn states_round_trip_exactly() {
        let original = state();
        let bytes = original.encode();
        assert_eq!(StudyState::decode(&bytes).unwrap(), original);
        // Sparse bins keep the file small: far below the dense summary's size.
        assert!(bytes.len() < 2_000_000, "{} bytes", bytes.len());
    }

    #[test]
    fn corrupt_states_are_errors_not_panics() {
        let bytes = state().encode();
        for cut in [0, 7, 12, 100, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                StudyState::decode(&bytes[..cut]).is_err(),
                "truncated at {cut}"
            );
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert_eq!(StudyState::decode(&wrong).unwrap_err(), "wrong magic bytes");
        let mut newer = bytes.clone();
        newer[8] = 99;
        assert!(
            StudyState::decode(&newer)
                .unwrap_err()
                .contains("format version 99")
        );
        let mut extra = bytes;
        extra.push(0);
        assert_eq!(StudyState::decode(&extra).unwrap_err(), "trailing bytes");
    }
}
