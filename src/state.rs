//! Saved study state: checkpoints of a running study and the results of a
//! shard, in one self-describing binary file.
//!
//! A [`StudyState`] carries the resolved scenario (as canonical TOML), its hash,
//! the seed, which runs it covers and the exactly mergeable [`Summary`] of
//! those runs. So `armsim merge` can rebuild a study from shard files alone,
//! and `armsim run --resume` can refuse a checkpoint of another study.

use std::ops::Range;
use std::path::Path;

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

impl StudyState {
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
        let summary = Summary::decode(&mut reader.input)?;
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
            scenario_id: loaded.scenario.id.clone(),
            scenario_toml: loaded.resolved_toml.clone(),
            scenario_hash: loaded.hash.clone(),
            seed: loaded.scenario.seed,
            total_runs: 64,
            range: 0..64,
            done: 64,
            elapsed_seconds: 0.25,
            summary,
        }
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
