//! Saved study state: checkpoints of a running study and the results of a
//! shard, in one self-describing binary file.
//!
//! A [`StudyState`] carries the resolved scenario (as canonical TOML), its hash,
//! the overrides that made it (as labels), the seed, which runs it covers, the
//! wall time and threads spent, and the exactly mergeable [`Summary`] of those
//! runs. So `armsim merge` can rebuild a study from shard files alone, and
//! `armsim run --resume` can refuse a checkpoint of another study.
//!
//! Format 2, little-endian: the magic bytes `ARMSIMST`, the format version
//! (`u32`), the payload's length (`u64`), the payload, and the SHA-256 of the
//! payload. A file whose checksum fails (a flipped byte, a truncated copy) is
//! refused before anything in it is believed; every size it declares is
//! checked against the bytes present and against the scenario it carries
//! before anything is allocated, so no file, however crafted, can make
//! armsim allocate more than its own scenario needs. Nothing in a state file
//! chooses where anything is written: its scenario id is a label.

use std::ops::Range;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::files::{self, FileError};
use crate::metrics;
use crate::model::ModelVersion;
use crate::scenario::{Loaded, Override};
use crate::summary::Summary;

const MAGIC: &[u8; 8] = b"ARMSIMST";
/// The magic bytes of a comparison's checkpoint
/// ([`crate::experiment::comparing`]): the same frame, another payload.
pub const COMPARISON_MAGIC: &[u8; 8] = b"ARMSIMCM";
/// The magic bytes of a campaign's state (sweep, sensitivity).
pub const CAMPAIGN_MAGIC: &[u8; 8] = b"ARMSIMCP";
/// The magic bytes of an ABC population: a calibration's generation, an
/// evaluation's fold ([`crate::calibrate::population`]).
pub const POPULATION_MAGIC: &[u8; 8] = b"ARMSIMAB";
/// Every kind of state file, by its magic bytes, and its name.
const KINDS: [(&[u8; 8], &str); 4] = [
    (MAGIC, "study"),
    (COMPARISON_MAGIC, "comparison"),
    (CAMPAIGN_MAGIC, "campaign"),
    (POPULATION_MAGIC, "population"),
];
const VERSION: u32 = 2;
/// Bytes around the payload: magic, version, length, checksum.
const FRAME: usize = 8 + 4 + 8 + 32;
/// Longest scenario id a state file may carry.
const MAX_ID: usize = 255;
/// Most overrides a state file may carry.
const MAX_OVERRIDES: u64 = 10_000;

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file could not be written, or its path holds something armsim
    /// did not write.
    #[error(transparent)]
    Write(#[from] FileError),
    /// The file is not a state file of this armsim.
    #[error("{}: not a usable armsim state file ({reason})", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An interrupted command whose finished work could not be saved for
/// `--resume`: what was done, where it was to be kept and why it was not.
/// Every command (a study's runs, a comparison's pairs, a campaign's
/// points) reports this in the same words.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted after {done} of {total} {unit}, but they could not be saved in {}: {source}",
    path.display()
)]
pub struct Unsaved {
    /// Units done.
    pub done: u64,
    /// Units asked for.
    pub total: u64,
    /// What a unit is: "runs", "pairs", "points".
    pub unit: &'static str,
    /// The checkpoint.
    pub path: std::path::PathBuf,
    /// Why it could not be written.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The state of a study, or of one shard of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyState {
    /// Scenario identifier: a label, never a path.
    pub scenario_id: String,
    /// The resolved scenario, canonical TOML.
    pub scenario_toml: String,
    /// SHA-256 of `scenario_toml`.
    pub scenario_hash: String,
    /// The model version the study runs (`v1`, `v2`).
    pub model: ModelVersion,
    /// The fingerprint of the metric catalogue its summary was recorded
    /// with ([`crate::metrics::fingerprint`]).
    pub catalogue: String,
    /// The `--set` overrides that made the scenario, as canonical labels
    /// (`suppliers.Russia.support=0.2`), for names and titles.
    pub overrides: Vec<String>,
    /// Master seed.
    pub seed: u64,
    /// Runs in the whole study (all shards).
    pub total_runs: u64,
    /// The runs this state is responsible for (a shard, or all).
    pub range: Range<u64>,
    /// Runs `range.start..done` are folded into `summary`.
    pub done: u64,
    /// Wall-clock seconds spent so far (summed over sessions and shards).
    pub elapsed_seconds: f64,
    /// Worker threads: the most any session used (summed over merged shards).
    pub threads: u32,
    /// The summary of the completed runs.
    pub summary: Summary,
}

/// Appends a length-prefixed string.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
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
    /// A state was written by another model version than the first.
    #[error("shard {index} ran model {model}, the first shard model {first}")]
    OtherModel {
        /// Which state.
        index: usize,
        /// Its model.
        model: ModelVersion,
        /// The first state's model.
        first: ModelVersion,
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
        if state.model != first.model {
            return Err(MergeError::OtherModel {
                index,
                model: state.model,
                first: first.model,
            });
        }
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
        threads: states
            .iter()
            .fold(0u32, |sum, s| sum.saturating_add(s.threads)),
        summary,
        ..first.clone()
    })
}

impl StudyState {
    /// The state of runs `range.start..done` of `loaded`'s study, summarised
    /// in `summary`, after `elapsed_seconds` of work on `threads` threads.
    pub fn new(
        loaded: &Loaded,
        range: Range<u64>,
        done: u64,
        elapsed_seconds: f64,
        threads: usize,
        summary: Summary,
    ) -> Self {
        StudyState {
            model: loaded.scenario.model(),
            catalogue: metrics::fingerprint(),
            scenario_id: loaded.scenario.id().to_string(),
            scenario_toml: loaded.resolved_toml.clone(),
            scenario_hash: loaded.hash.clone(),
            overrides: loaded.overrides.iter().map(|o| o.label.clone()).collect(),
            seed: loaded.scenario.seed(),
            total_runs: loaded.scenario.runs(),
            range,
            done,
            elapsed_seconds,
            threads: u32::try_from(threads).unwrap_or(u32::MAX),
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

    /// The scenario this state is of, loaded and validated again from its
    /// resolved TOML, with the overrides' labels that made it.
    ///
    /// # Errors
    /// The scenario's diagnostics if this armsim does not accept it.
    pub fn loaded(&self, origin: &str) -> Result<Loaded, crate::scenario::ScenarioError> {
        let mut loaded =
            crate::scenario::load_str(&self.scenario_toml, &self.scenario_id, origin, &[])?;
        loaded.overrides = self
            .overrides
            .iter()
            .map(|label| Override::from_label(label))
            .collect();
        Ok(loaded)
    }

    /// The binary encoding (format 2, see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        put_str(&mut payload, env!("CARGO_PKG_VERSION"));
        put_str(&mut payload, self.model.name());
        put_str(&mut payload, &self.catalogue);
        put_str(&mut payload, &self.scenario_id);
        put_str(&mut payload, &self.scenario_toml);
        put_str(&mut payload, &self.scenario_hash);
        payload.extend_from_slice(&(self.overrides.len() as u64).to_le_bytes());
        for o in &self.overrides {
            put_str(&mut payload, o);
        }
        for x in [
            self.seed,
            self.total_runs,
            self.range.start,
            self.range.end,
            self.done,
            self.elapsed_seconds.to_bits(),
            u64::from(self.threads),
        ] {
            payload.extend_from_slice(&x.to_le_bytes());
        }
        self.summary.encode(&mut payload);
        Self::frame(&payload)
    }

    /// `payload` framed as a state file of this format: magic bytes,
    /// format, length, the payload, its SHA-256 checksum. The fuzz target
    /// frames arbitrary bytes so, to reach the payload's decoder behind a
    /// valid checksum (as a careful forger would).
    pub fn frame(payload: &[u8]) -> Vec<u8> {
        frame(MAGIC, VERSION, payload)
    }

    /// Decodes [`StudyState::encode`]'s output, checking its checksum, every
    /// size it declares, that its scenario is valid and that its counts agree
    /// with its run range.
    ///
    /// # Errors
    /// A description of what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<StudyState, String> {
        decode_payload(unframe(MAGIC, VERSION, bytes)?)
    }

    /// Writes the state to `path` atomically (a temporary file renamed into
    /// place), replacing only a state file armsim wrote.
    ///
    /// # Errors
    /// [`StateError::Write`].
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = self.encode();
        files::write_file_atomically(path, is_state_file, |w| w.write_all(&bytes))?;
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

/// Whether the file at `path` is a study's state file (by its magic bytes):
/// the only kind of file a study's checkpoint may replace or remove. Each
/// kind of state replaces only its own kind, so a checkpoint another
/// command kept at the same path is never lost to this one.
pub fn is_state_file(path: &Path) -> bool {
    files::starts_with(path, MAGIC)
}

/// Which kind of armsim state file `path` holds, if any: "study",
/// "comparison", "campaign" or "population".
pub fn state_kind(path: &Path) -> Option<&'static str> {
    KINDS
        .into_iter()
        .find(|(magic, _)| files::starts_with(path, &magic[..]))
        .map(|(_, kind)| kind)
}

/// `payload` framed as a state file: `magic` (which kind of state), the
/// kind's format `version`, the payload's length, the payload and its
/// SHA-256. The one frame of every state file armsim writes: a study's or
/// shard's ([`StudyState`]), a comparison's checkpoint
/// ([`crate::experiment::comparing::ComparisonState`]), a campaign's
/// ([`crate::experiment::campaign::CampaignState`]) and an ABC population
/// ([`crate::calibrate::population::Population`]).
pub(crate) fn frame(magic: &[u8; 8], version: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + FRAME);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&Sha256::digest(payload));
    out
}

/// Why bytes are not a [`frame`] of the kind and format expected: nothing
/// in the payload has been read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Another kind of file (its magic bytes differ).
    #[error("wrong magic bytes")]
    Magic,
    /// Another format of this kind.
    #[error("{}", version_message(*found, *expected))]
    Version {
        /// The file's format.
        found: u32,
        /// The format this armsim reads.
        expected: u32,
    },
    /// The file ends inside its header.
    #[error("the file ends inside its header (a truncated copy)")]
    Header,
    /// The length the header declares is not what follows it.
    #[error(
        "the file is {size} bytes but says it holds a {declared}-byte payload \
         (a truncated or damaged copy)"
    )]
    Length {
        /// The file's size.
        size: usize,
        /// The payload's declared length.
        declared: u64,
    },
    /// The payload is not what was written.
    #[error("checksum mismatch: the file is damaged (a changed byte or a bad copy)")]
    Checksum,
}

fn version_message(found: u32, expected: u32) -> String {
    if found < expected {
        format!(
            "state format {found}, written by an older armsim; this armsim reads \
             format {expected}: run it again"
        )
    } else {
        format!("state format {found}, written by a newer armsim; this armsim reads {expected}")
    }
}

impl From<FrameError> for String {
    fn from(e: FrameError) -> String {
        e.to_string()
    }
}

/// The payload of a [`frame`]d file, once its magic, format, length and
/// checksum are checked: nothing in a payload is read before its checksum
/// holds.
pub(crate) fn unframe<'a>(
    magic: &[u8; 8],
    expected: u32,
    bytes: &'a [u8],
) -> Result<&'a [u8], FrameError> {
    if bytes.get(..8) != Some(magic.as_slice()) {
        return Err(FrameError::Magic);
    }
    let Some(header) = bytes.get(8..20) else {
        return Err(FrameError::Header);
    };
    let (version, declared) = header.split_at(4);
    let found = u32::from_le_bytes(version.try_into().expect("4 bytes"));
    if found != expected {
        return Err(FrameError::Version { found, expected });
    }
    let declared = u64::from_le_bytes(declared.try_into().expect("8 bytes"));
    if bytes.len() < FRAME || declared != (bytes.len() - FRAME) as u64 {
        return Err(FrameError::Length {
            size: bytes.len(),
            declared,
        });
    }
    let (payload, checksum) = bytes[20..].split_at(declared as usize);
    if Sha256::digest(payload).as_slice() != checksum {
        return Err(FrameError::Checksum);
    }
    Ok(payload)
}

fn decode_payload(payload: &[u8]) -> Result<StudyState, String> {
    let mut reader = Reader { input: payload };
    let _writer_version = reader.string()?;
    let model_name = reader.string()?;
    let model = ModelVersion::from_name(&model_name)
        .ok_or_else(|| format!("written by a model this armsim does not know ({model_name:?})"))?;
    let catalogue = reader.string()?;
    if catalogue != metrics::fingerprint() {
        return Err(format!(
            "written with another catalogue of metrics (fingerprint {catalogue}; this armsim's \
             is {}), so its statistics would be read as other metrics: run that study or shard again",
            metrics::fingerprint()
        ));
    }
    let scenario_id = reader.string()?;
    if scenario_id.is_empty()
        || scenario_id.len() > MAX_ID
        || scenario_id.chars().any(char::is_control)
    {
        return Err(format!(
            "scenario id {:?} is not a label (1 to {MAX_ID} bytes, no control characters)",
            scenario_id.chars().take(40).collect::<String>()
        ));
    }
    let scenario_toml = reader.string()?;
    let scenario_hash = reader.string()?;
    let count = reader.u64()?;
    if count > MAX_OVERRIDES {
        return Err(format!("{count} overrides declared"));
    }
    let mut overrides = Vec::new();
    for _ in 0..count {
        overrides.push(reader.string()?);
    }
    let seed = reader.u64()?;
    let total_runs = reader.u64()?;
    let range = reader.u64()?..reader.u64()?;
    let done = reader.u64()?;
    let elapsed_seconds = f64::from_bits(reader.u64()?);
    let threads = u32::try_from(reader.u64()?).map_err(|_| "implausible thread count")?;
    if range.start > range.end
        || !(range.start..=range.end).contains(&done)
        || range.end > total_runs
    {
        return Err("inconsistent run range".into());
    }
    if !(elapsed_seconds.is_finite() && elapsed_seconds >= 0.0) {
        return Err("invalid elapsed time".into());
    }
    // The scenario says what shape the summary must have: check the shape
    // the summary declares against it before the summary allocates anything.
    let loaded = crate::scenario::load_str(&scenario_toml, &scenario_id, "state file", &[])
        .map_err(|e| format!("its scenario is not valid in this armsim: {e}"))?;
    if loaded.hash != scenario_hash {
        return Err("its scenario does not match its hash".into());
    }
    if loaded.scenario.seed() != seed || loaded.scenario.runs() != total_runs {
        return Err("its seed or run count differ from its scenario's".into());
    }
    if loaded.scenario.model() != model {
        return Err(format!(
            "it says model {model} but its scenario runs model {}",
            loaded.scenario.model()
        ));
    }
    let summary = read_summary(reader.input, &loaded.scenario, &range, done)?;
    Ok(StudyState {
        model,
        catalogue,
        scenario_id,
        scenario_toml,
        scenario_hash,
        overrides,
        seed,
        total_runs,
        range,
        done,
        elapsed_seconds,
        threads,
        summary,
    })
}

/// A study state's summary, the rest of its payload (`input`): the shape
/// it declares checked against `scenario` before it allocates anything,
/// then its counts, and that it holds the runs `range.start..done`.
fn read_summary(
    mut input: &[u8],
    scenario: &crate::model::Scenario,
    range: &Range<u64>,
    done: u64,
) -> Result<Summary, String> {
    let mut shape = Reader { input };
    let declared = (shape.u64()?, shape.u64()?, shape.u64()?);
    let expected = (
        u64::from(scenario.quarters()),
        scenario.suppliers().len() as u64,
        scenario.compare().len() as u64,
    );
    if declared != expected {
        return Err(format!(
            "its summary's shape (quarters, suppliers, pairs) {declared:?} is not its \
             scenario's {expected:?}"
        ));
    }
    let summary = Summary::decode(&mut input).map_err(|e| e.to_string())?;
    if !input.is_empty() {
        return Err("trailing bytes".into());
    }
    if !summary.same_shape(&Summary::new(scenario)) {
        return Err("its summary does not fit its scenario".into());
    }
    if summary.runs() != done - range.start {
        return Err(format!(
            "its summary holds {} runs but it says runs {}..{done} ({}) are done",
            summary.runs(),
            range.start,
            done - range.start
        ));
    }
    summary.check_counts()?;
    Ok(summary)
}

/// Reads a payload's fields, each checked against the bytes left.
pub(crate) struct Reader<'a> {
    /// What is left to read.
    pub(crate) input: &'a [u8],
}

impl Reader<'_> {
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        if self.input.len() < n {
            return Err("truncated".into());
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        let bytes: [u8; 8] = self.bytes(8)?.try_into().map_err(|_| "truncated")?;
        Ok(u64::from_le_bytes(bytes))
    }

    pub(crate) fn string(&mut self) -> Result<String, String> {
        let n = self.u64()?;
        if n > self.input.len() as u64 {
            return Err("truncated string".into());
        }
        let n = n as usize;
        String::from_utf8(self.bytes(n)?.to_vec()).map_err(|_| "invalid UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_state_file_has_its_own_magic() {
        // A comparison's checkpoint first took a campaign's magic bytes, so
        // one could have been read as the other: every kind must differ.
        let magics = KINDS.map(|(magic, _)| magic);
        for (i, a) in magics.iter().enumerate() {
            for b in &magics[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        for (magic, kind) in KINDS {
            let path = dir.path().join("state");
            std::fs::write(&path, super::frame(magic, 1, b"payload")).unwrap();
            assert_eq!(state_kind(&path), Some(kind));
            // A study replaces or removes only a study's state.
            assert_eq!(is_state_file(&path), magic == MAGIC);
            assert!(unframe(magic, 1, &std::fs::read(&path).unwrap()).is_ok());
            for other in magics.iter().filter(|m| **m != magic) {
                assert!(unframe(other, 1, &std::fs::read(&path).unwrap()).is_err());
            }
        }
    }
    use crate::scenario::load_baseline;
    use crate::study::Study;

    fn state() -> StudyState {
        let loaded = load_baseline(&["run.runs=64".into()]).unwrap();
        let summary = Study::new(&loaded.scenario)
            .threads(1)
            .run()
            .unwrap()
            .summary;
        StudyState::new(&loaded, 0..64, 64, 0.25, 3, summary)
    }

    #[test]
    fn a_state_of_another_catalogue_or_model_is_refused() {
        let good = state();
        let mut other = good.clone();
        other.catalogue = "0123456789abcdef".into();
        let err = StudyState::decode(&other.encode()).unwrap_err();
        assert!(err.contains("another catalogue of metrics"), "{err}");
        let mut v1 = good.clone();
        v1.model = ModelVersion::V1;
        let err = StudyState::decode(&v1.encode()).unwrap_err();
        assert!(
            err.contains("says model v1 but its scenario runs model v3"),
            "{err}"
        );
        let shards = [good.clone(), v1];
        assert!(matches!(
            merge(&shards).unwrap_err(),
            MergeError::OtherModel { index: 1, .. }
        ));
    }

    /// A file framing `payload` with a valid checksum: what a careful forger makes.
    fn frame(payload: &[u8]) -> Vec<u8> {
        StudyState::frame(payload)
    }

    fn payload(bytes: &[u8]) -> Vec<u8> {
        bytes[20..bytes.len() - 32].to_vec()
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
                StudyState::new(&loaded, r.clone(), r.end, 1.0, 2, part.summary)
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
            (
                merged.range,
                merged.done,
                merged.elapsed_seconds,
                merged.threads
            ),
            (0..90, 90, 3.0, 6)
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
        for cut in [0, 7, 12, 19, 20, 100, bytes.len() / 2, bytes.len() - 1] {
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
                .contains("state format 99, written by a newer armsim")
        );
        let mut older = bytes.clone();
        older[8] = 1;
        assert!(
            StudyState::decode(&older)
                .unwrap_err()
                .contains("older armsim")
        );
        let mut extra = bytes;
        extra.push(0);
        assert!(
            StudyState::decode(&extra)
                .unwrap_err()
                .contains("truncated or damaged")
        );
    }

    #[test]
    fn a_flipped_byte_anywhere_is_refused_by_the_checksum() {
        let bytes = state().encode();
        // Every byte of the payload and checksum, one bit at a time would be
        // slow in debug builds: a spread of positions, ends included.
        let step = (bytes.len() / 997).max(1);
        for i in (20..bytes.len()).step_by(step).chain([20, bytes.len() - 1]) {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(
                StudyState::decode(&flipped)
                    .unwrap_err()
                    .contains("checksum mismatch"),
                "byte {i}"
            );
        }
    }

    #[test]
    fn declared_sizes_are_checked_before_anything_is_allocated() {
        // 123 bytes whose checksum is right but whose sizes are lies: each
        // string length or count far beyond the bytes present.
        for fill in [0xff_u8, 0x7f, 0x01] {
            let mut lie = vec![fill; 123 - FRAME];
            lie[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            let file = frame(&lie);
            assert_eq!(file.len(), 123);
            assert!(StudyState::decode(&file).is_err());
        }
        // A real state whose summary claims a shape far larger than its
        // scenario's: refused by the shape check, before the summary
        // allocates its bins.
        let good = state();
        let bytes = good.encode();
        let mut summary = Vec::new();
        good.summary.encode(&mut summary);
        let mut p = payload(&bytes);
        let at = p.len() - summary.len();
        p[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let err = StudyState::decode(&frame(&p)).unwrap_err();
        assert!(err.contains("summary's shape"), "{err}");
    }

    #[test]
    fn counts_that_disagree_with_the_run_range_are_refused() {
        let good = state();
        let bytes = good.encode();
        let mut summary = Vec::new();
        good.summary.encode(&mut summary);
        let pairs = load_baseline(&[]).unwrap().scenario.compare().len();
        let runs_at = payload(&bytes).len() - summary.len() + 32 + 16 * pairs;
        // The summary says 1000 runs where the state did 64.
        let mut p = payload(&bytes);
        p[runs_at..runs_at + 8].copy_from_slice(&1000u64.to_le_bytes());
        let err = StudyState::decode(&frame(&p)).unwrap_err();
        assert!(err.contains("1000 runs"), "{err}");
        // A state saying 10 runs done whose summary says 10 runs but whose
        // statistics count 64.
        let mut fewer = good.clone();
        fewer.done = 10;
        let mut p = payload(&fewer.encode());
        p[runs_at..runs_at + 8].copy_from_slice(&10u64.to_le_bytes());
        let err = StudyState::decode(&frame(&p)).unwrap_err();
        assert!(err.contains("64") && err.contains("10"), "{err}");
    }

    #[test]
    fn a_scenario_id_is_a_label_checked_on_reading() {
        let mut s = state();
        s.scenario_id = "a\u{1b}[2Jb".into();
        assert!(
            StudyState::decode(&s.encode())
                .unwrap_err()
                .contains("not a label")
        );
        // A path-like id is read as a label (it is never used as a path).
        s.scenario_id = "../../x".into();
        assert_eq!(
            StudyState::decode(&s.encode()).unwrap().scenario_id,
            "../../x"
        );
    }
}
