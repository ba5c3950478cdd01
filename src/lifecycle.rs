//! What every command's lifecycle shares, so that a study, a comparison, a
//! campaign (sweep, sensitivity) and a calibration behave and speak alike:
//!
//! - what it tells its caller as it goes: [`Notice`], printed by the binary
//!   in one set of words;
//! - what it does, before anything runs, with the checkpoint at its path
//!   ([`open_checkpoint`]): continue it with `resume`, replace an earlier
//!   one of the same command (saying so) without, start afresh (saying so)
//!   when `resume` finds nothing, and refuse another command's checkpoint,
//!   which it never replaces ([`AnotherCommands`]);
//! - removing the checkpoint once the work is written, where a failure is
//!   said, not an error ([`remove_checkpoint`]);
//! - the error for an interruption whose work could not be kept:
//!   [`crate::state::Unsaved`].
//!
//! The output directory rule is [`crate::files`]'s, the state files'
//! frame and codec [`crate::state`]'s, and the threads, rounds and
//! cancellation [`crate::executor`]'s.

use std::path::{Path, PathBuf};

use crate::files;
use crate::state::{self, StateError};

/// What a command's lifecycle says as it goes, for the caller to show:
/// the same events in the same words for a study, a comparison, a campaign
/// and a calibration.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// Continuing from a checkpoint: `done` of `total` units (runs, pairs,
    /// points, generations) were already done.
    Resuming {
        /// The checkpoint.
        checkpoint: &'a Path,
        /// Units already done.
        done: u64,
        /// Units asked for (for a calibration, the most generations it
        /// may take).
        total: u64,
    },
    /// Resuming was asked for but there is no checkpoint: starting afresh.
    NoCheckpoint {
        /// Where it was looked for.
        checkpoint: &'a Path,
    },
    /// Not resuming, and an interrupted run of the same command left its
    /// checkpoint there: it will be replaced.
    ReplacingCheckpoint {
        /// The checkpoint.
        checkpoint: &'a Path,
    },
    /// A checkpoint could not be saved; the work carries on.
    CheckpointFailed {
        /// The checkpoint.
        checkpoint: &'a Path,
        /// Why.
        error: &'a StateError,
    },
    /// The kept runs' file will be large (over the warning threshold).
    LargeRuns {
        /// The file.
        file: &'static str,
        /// Its estimated size in bytes.
        estimated: u64,
    },
    /// Where the output rule put the study, said when it matters: earlier
    /// results of other settings were kept and the study goes beside them,
    /// or the directory the user named held one, which is replaced.
    Placed {
        /// The placement ([`files::Placement::kept`] and
        /// [`files::Placement::replaced_other`] say what happened).
        placement: &'a files::Placement,
    },
    /// A completed command's checkpoint could not be removed (it is stale).
    StaleCheckpoint {
        /// The checkpoint.
        checkpoint: &'a Path,
        /// Why.
        error: &'a files::FileError,
    },
}

/// A caller's [`Notice`] handler.
pub type NoticeFn<'a> = dyn FnMut(Notice<'_>) + 'a;

/// Whether a command continues its checkpoint or starts afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A checkpoint of this command is there and `resume` was asked for:
    /// load it (it may still belong to other settings, which the command
    /// checks).
    Resume,
    /// Nothing to continue: start from the beginning.
    Afresh,
}

/// Where a command keeps its checkpoint, another command kept its own.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} is the checkpoint of an interrupted {theirs}, not of a {ours}; continue that \
     {theirs}, remove the file, or write the {ours} elsewhere (--out)",
    path.display()
)]
pub struct AnotherCommands {
    /// The checkpoint.
    pub path: PathBuf,
    /// What kind of state it holds ([`state::state_kind`], or
    /// "calibration" for a directory).
    pub theirs: &'static str,
    /// The command that would have kept its checkpoint there.
    pub ours: &'static str,
}

/// Decides, before anything runs, what a command of kind `ours` (a
/// [`state::state_kind`]: "study", "comparison", "campaign") does with
/// what is at its `checkpoint` path, and says it.
///
/// # Errors
/// [`AnotherCommands`] if another command's checkpoint is there, resuming
/// or not: it is not this command's to replace, and a command that could
/// keep no checkpoint of its own should not start.
pub fn open_checkpoint(
    checkpoint: &Path,
    ours: &'static str,
    resume: bool,
    tell: &mut NoticeFn<'_>,
) -> Result<Start, AnotherCommands> {
    let kind = if holds_generations(checkpoint) {
        Some("calibration")
    } else {
        state::state_kind(checkpoint)
    };
    match (kind, resume) {
        (Some(kind), true) if kind == ours => Ok(Start::Resume),
        (Some(kind), false) if kind == ours => {
            tell(Notice::ReplacingCheckpoint { checkpoint });
            Ok(Start::Afresh)
        }
        (Some(theirs), _) => Err(AnotherCommands {
            path: checkpoint.to_path_buf(),
            theirs,
            ours,
        }),
        (None, true) => {
            tell(Notice::NoCheckpoint { checkpoint });
            Ok(Start::Afresh)
        }
        (None, false) => Ok(Start::Afresh),
    }
}

/// Whether `path` is a directory of a calibration's saved generations (the
/// one command that keeps its checkpoint as a directory): it holds a
/// population named `generation-NNN.abcpop`. Any other directory is not a
/// checkpoint; a command carries on beside it, saying its checkpoints
/// cannot be saved.
fn holds_generations(path: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name.starts_with("generation-")
            && name.ends_with(".abcpop")
            && files::starts_with(&entry.path(), state::POPULATION_MAGIC)
    })
}

/// Says `n` to a caller's notice handler, if it gave one.
pub fn tell<F: FnMut(Notice<'_>) + ?Sized>(notice: &mut Option<&mut F>, n: Notice<'_>) {
    if let Some(f) = notice.as_mut() {
        f(n);
    }
}

/// Removes a finished command's checkpoint, if `ours` recognises it; a
/// failure leaves it stale, which is said ([`Notice::StaleCheckpoint`]),
/// not an error: the work is written.
pub fn remove_checkpoint(checkpoint: &Path, ours: impl Fn(&Path) -> bool, tell: &mut NoticeFn<'_>) {
    if let Err(error) = files::remove_file_if_ours(checkpoint, ours) {
        tell(Notice::StaleCheckpoint {
            checkpoint,
            error: &error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_continued_replaced_or_refused_by_its_kind_and_each_is_said() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join(".out.checkpoint");
        let open = |resume: bool| {
            let mut said = Vec::new();
            let start = open_checkpoint(&path, "campaign", resume, &mut |n| {
                said.push(format!("{n:?}"));
            });
            (start.map_err(|e| e.to_string()), said)
        };
        // Nothing there.
        assert_eq!(open(false), (Ok(Start::Afresh), vec![]));
        let (start, said) = open(true);
        assert_eq!(start, Ok(Start::Afresh));
        assert!(said[0].starts_with("NoCheckpoint"), "{said:?}");
        // A file that is no state file is nothing to continue.
        std::fs::write(&path, b"notes").unwrap();
        assert_eq!(open(true).0, Ok(Start::Afresh));
        // This command's checkpoint.
        std::fs::write(&path, state::frame(state::CAMPAIGN_MAGIC, 1, b"")).unwrap();
        assert_eq!(state::state_kind(&path), Some("campaign"));
        assert_eq!(open(true), (Ok(Start::Resume), vec![]));
        let (start, said) = open(false);
        assert_eq!(start, Ok(Start::Afresh));
        assert!(said[0].starts_with("ReplacingCheckpoint"), "{said:?}");
        // Another command's, resuming or not.
        std::fs::write(&path, state::frame(b"ARMSIMST", 1, b"")).unwrap();
        for resume in [false, true] {
            let (start, said) = open(resume);
            let message = start.unwrap_err();
            assert!(
                message.contains("checkpoint of an interrupted study, not of a campaign"),
                "{message}"
            );
            assert!(said.is_empty());
        }
        // A directory of the user's is not a checkpoint; a calibration's
        // generations are.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("generation-000.abcpop"), b"notes").unwrap();
        assert_eq!(open(false), (Ok(Start::Afresh), vec![]));
        std::fs::write(path.join("generation-000.abcpop"), state::POPULATION_MAGIC).unwrap();
        let message = open(true).0.unwrap_err();
        assert!(
            message.contains("checkpoint of an interrupted calibration, not of a campaign"),
            "{message}"
        );
    }
}
