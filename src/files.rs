//! Files and directories armsim writes, and the one rule that guards them:
//! armsim never deletes or replaces what it did not write.
//!
//! Every command that writes a study directory goes through
//! [`write_dir_atomically`], and every state file through
//! [`write_file_atomically`]. They own, in one place:
//!
//! - **What may be replaced.** A study directory may take the place of
//!   nothing, an empty directory, or an earlier armsim study: a directory
//!   whose `manifest.json` says armsim wrote it (`"written_by": "armsim"`,
//!   see [`WRITTEN_BY`]) and lists every other file in it. Anything else (a
//!   directory holding other files, a regular file, a device, a FIFO, a
//!   symbolic link) is refused with a [`Refusal`] and left untouched; no
//!   option overrides this, because no option may make armsim delete a file
//!   it did not write. [`inspect`] says what is at a path.
//! - **Earlier results are kept.** A command that picks its own directory
//!   ([`place`]) replaces an earlier result there only if it was made with
//!   the same settings (the manifest's [`SETTINGS_KEY`], a fingerprint of
//!   everything that decides the results and files: scenario, seed, runs,
//!   design, outcomes, plots); a result of other settings is kept, and the
//!   new one goes beside it as `NAME-2`, `NAME-3`, ... ([`Placement`] says
//!   which, for the command to print). A directory given by the user
//!   ([`claim`]) is theirs to reuse: an earlier armsim result there is
//!   replaced, and [`Placement::replaced_other`] says so for the command to
//!   print.
//! - **All or nothing.** Files are written into a temporary sibling that is
//!   exchanged with the destination in one step, so a failed or interrupted
//!   write never leaves half a study and readers never see one.
//! - **Concurrent writers.** The final check and exchange happen under an
//!   exclusive lock on the parent directory, so two processes writing the
//!   same destination each succeed in turn (the later one wins) instead of
//!   failing half-way.
//! - **Leftovers.** Temporary names say who made them
//!   (`.NAME.tmp-HOST-PID-N`); what a killed writer left is swept by the next
//!   write in the same directory once that process is provably gone (same
//!   host, no such process). Nothing else is ever swept.
//! - **Permissions.** Files and directories are created with the default
//!   modes filtered by the user's umask (group-readable where the umask
//!   allows), so collaborators on a cluster can read and merge them.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file that marks a directory as an armsim study.
pub const MANIFEST: &str = "manifest.json";
/// The manifest field that says who wrote the directory.
pub const WRITTEN_BY_KEY: &str = "written_by";
/// Its value in every manifest armsim writes.
pub const WRITTEN_BY: &str = "armsim";
/// The manifest field holding a fingerprint of the settings a directory's
/// results and files depend on (see [`place`]).
pub const SETTINGS_KEY: &str = "settings_sha256";
/// How many numbered siblings (`NAME-2` ... ) [`place`] tries.
const MAX_SIBLINGS: u32 = 999;
/// Largest manifest read when recognising a study (a manifest holds the
/// resolved scenario, a few kilobytes).
const MANIFEST_LIMIT: u64 = 16 << 20;

/// Why armsim will not write to a path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The path names no directory entry (`.`, `..`, `/`).
    NoName,
    /// The path is a symbolic link.
    Symlink,
    /// The path is something other than a directory: a regular file, a
    /// device, a FIFO or a socket (named).
    NotADirectory(&'static str),
    /// A directory holding entries armsim did not write (the first few named).
    Foreign {
        /// Some of the entries, sorted.
        entries: Vec<String>,
        /// How many there are in all.
        count: usize,
    },
    /// A file armsim would replace is not one armsim wrote.
    NotOurFile,
    /// Where armsim keeps a file is something other than a file (named).
    NotAFile(&'static str),
    /// Every numbered sibling of a default directory holds an earlier result.
    NoFreeName,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoName => write!(f, "it names no directory; give a path such as out/study"),
            Refusal::Symlink => write!(
                f,
                "it is a symbolic link; armsim writes only to a real directory"
            ),
            Refusal::NotADirectory(what) => write!(f, "it is {what}, not a directory"),
            Refusal::Foreign { entries, count } => {
                let more = count.saturating_sub(entries.len());
                write!(
                    f,
                    "it holds files armsim did not write ({}{}); armsim replaces only an \
                     empty directory or an earlier armsim study. Choose another directory, \
                     or move those files away first",
                    entries.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            }
            Refusal::NotOurFile => write!(f, "it is not a file armsim wrote"),
            Refusal::NotAFile(what) => write!(f, "it is {what}, not a file armsim wrote"),
            Refusal::NoFreeName => write!(
                f,
                "it and its numbered siblings up to -{MAX_SIBLINGS} all hold earlier results \
                 of other settings; give --out, or move some away"
            ),
        }
    }
}

/// Why a file or directory could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The destination holds something armsim may not replace; nothing was touched.
    #[error("refusing to write to {}: {reason}", path.display())]
    Refused {
        /// The destination.
        path: PathBuf,
        /// Why.
        reason: Refusal,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What is at a destination path, when armsim may replace it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Nothing.
    Nothing,
    /// An empty directory.
    EmptyDir,
    /// An earlier armsim study; `files` are its entries (all armsim's).
    Study {
        /// The entries' names.
        files: Vec<OsString>,
    },
}

/// Says what is at `dir`, or why armsim may not replace it.
///
/// # Errors
/// [`FileError::Refused`] for anything armsim did not write;
/// [`FileError::Io`] if `dir` cannot be examined.
pub fn inspect(dir: &Path) -> Result<Existing, FileError> {
    let refuse = |reason| FileError::Refused {
        path: dir.to_path_buf(),
        reason,
    };
    if dir.file_name().is_none() {
        return Err(refuse(Refusal::NoName));
    }
    let meta = match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        other => other.map_err(io_at(dir))?,
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(refuse(Refusal::Symlink));
    }
    if kind.is_file() {
        return Err(refuse(Refusal::NotADirectory("a regular file")));
    }
    if !kind.is_dir() {
        return Err(refuse(Refusal::NotADirectory("a device, FIFO or socket")));
    }
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        entries.push(entry.map_err(io_at(dir))?.file_name());
    }
    if entries.is_empty() {
        return Ok(Existing::EmptyDir);
    }
    let listed = manifest_files(&dir.join(MANIFEST));
    let mut foreign: Vec<String> = entries
        .iter()
        .filter(|name| {
            let ours = listed.as_ref().is_some_and(|files| {
                name.to_str()
                    .is_some_and(|n| n == MANIFEST || files.iter().any(|f| f == n))
            });
            // Only regular files: a directory or link of the same name is not ours.
            !ours || !is_regular_file(&dir.join(name))
        })
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    if foreign.is_empty() {
        return Ok(Existing::Study { files: entries });
    }
    foreign.sort();
    let count = foreign.len();
    foreign.truncate(5);
    Err(refuse(Refusal::Foreign {
        entries: foreign,
        count,
    }))
}

fn is_regular_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// The files a manifest written by armsim lists, or `None` if `path` is not
/// such a manifest. Manifests of armsim before `written_by` existed are
/// recognised by their `armsim_version`.
fn manifest_files(path: &Path) -> Option<Vec<String>> {
    let json = read_manifest(path)?;
    let ours = json.get(WRITTEN_BY_KEY).and_then(|v| v.as_str()) == Some(WRITTEN_BY)
        || json.get("armsim_version").is_some_and(|v| v.is_string());
    if !ours {
        return None;
    }
    json.get("files")?
        .as_array()?
        .iter()
        .map(|f| {
            f.as_str()
                .filter(|f| !f.is_empty() && !f.contains(['/', '\\']) && *f != "." && *f != "..")
                .map(String::from)
        })
        .collect()
}

/// The settings fingerprint an armsim manifest at `path` records, if any.
pub(crate) fn manifest_settings(path: &Path) -> Option<String> {
    read_manifest(path)?
        .get(SETTINGS_KEY)?
        .as_str()
        .map(String::from)
}

/// The JSON of a manifest at `path`: a regular file, read up to
/// [`MANIFEST_LIMIT`] bytes; `None` if it is anything else.
fn read_manifest(path: &Path) -> Option<serde_json::Value> {
    if !is_regular_file(path) {
        return None;
    }
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(MANIFEST_LIMIT)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// A fingerprint of settings, for [`SETTINGS_KEY`]: SHA-256 of `parts`
/// (each a value that decides the results or the files), in hex.
pub fn settings_fingerprint(parts: &serde_json::Value) -> String {
    sha256_hex(parts.to_string().as_bytes())
}

/// SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a result will be written under the output rule, and what was
/// found there; see [`place`] and [`claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The directory to write.
    pub dir: PathBuf,
    /// What `dir` holds now.
    pub found: Found,
    /// Earlier results of other settings that [`place`] kept and wrote
    /// beside (the default directory first); empty for [`claim`].
    pub kept: Vec<PathBuf>,
}

/// What a destination holds before it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Nothing, or an empty directory.
    Nothing,
    /// An earlier result of the same settings (replacing it loses nothing:
    /// the same settings give the same bits).
    Same,
    /// An earlier armsim result of other settings (only in a directory the
    /// user named: [`claim`]).
    Other,
}

impl Placement {
    /// Whether writing replaces an earlier result of other settings (in a
    /// directory the user named), which the command should say.
    pub fn replaced_other(&self) -> bool {
        self.found == Found::Other
    }
}

/// The output rule for a directory a command names itself: `parent/STEMTAIL`
/// (`tail` is kept last, as in `.shard-0-of-4`), unless that holds an
/// earlier armsim result of other settings, which is kept: then the first
/// of `STEM-2`, `STEM-3`, ... (with `tail`) that is free or holds a result
/// of the same `settings`. An earlier result of the same settings is
/// replaced (the same settings give the same bits); a manifest without
/// settings (armsim before this rule) counts as other settings.
///
/// # Errors
/// As [`inspect`]: a path holding what armsim did not write is refused, not
/// stepped over, so a person sees it; [`Refusal::NoFreeName`] if every
/// sibling is taken.
pub fn place(
    parent: &Path,
    stem: &str,
    tail: &str,
    settings: &str,
) -> Result<Placement, FileError> {
    let mut kept = Vec::new();
    for n in 1..=MAX_SIBLINGS {
        let name = if n == 1 {
            format!("{stem}{tail}")
        } else {
            format!("{stem}-{n}{tail}")
        };
        let dir = parent.join(name);
        match inspect(&dir)? {
            Existing::Nothing | Existing::EmptyDir => {
                return Ok(Placement {
                    dir,
                    found: Found::Nothing,
                    kept,
                });
            }
            Existing::Study { .. } => {
                if manifest_settings(&dir.join(MANIFEST)).as_deref() == Some(settings) {
                    return Ok(Placement {
                        dir,
                        found: Found::Same,
                        kept,
                    });
                }
                kept.push(dir);
            }
        }
    }
    Err(FileError::Refused {
        path: parent.join(format!("{stem}{tail}")),
        reason: Refusal::NoFreeName,
    })
}

/// The output rule for a directory the user named (`--out`): it is written
/// there, replacing only nothing, an empty directory or an earlier armsim
/// result; [`Placement::found`] says which, so a command can say it
/// replaced a result of other settings.
///
/// # Errors
/// As [`inspect`].
pub fn claim(dir: &Path, settings: &str) -> Result<Placement, FileError> {
    let found = match inspect(dir)? {
        Existing::Nothing | Existing::EmptyDir => Found::Nothing,
        Existing::Study { .. } => {
            if manifest_settings(&dir.join(MANIFEST)).as_deref() == Some(settings) {
                Found::Same
            } else {
                Found::Other
            }
        }
    };
    Ok(Placement {
        dir: dir.to_path_buf(),
        found,
        kept: Vec::new(),
    })
}

/// Checks, before any work is done, that a study may be written to `dir`.
///
/// # Errors
/// As [`inspect`].
pub fn check_destination(dir: &Path) -> Result<(), FileError> {
    inspect(dir).map(|_| ())
}

/// The directory `path` lives in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// This host's name, reduced to letters, digits and `-`, for temporary names.
fn host() -> String {
    #[cfg(unix)]
    let raw = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    #[cfg(not(unix))]
    let raw = std::env::var("COMPUTERNAME").unwrap_or_default();
    let clean: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(64)
        .collect();
    if clean.is_empty() {
        "host".into()
    } else {
        clean
    }
}

/// A fresh temporary path beside `path`: `.NAME.KIND-HOST-PID-N`.
fn temp_path(path: &Path, kind: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "study".into(), |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    parent_of(path).join(format!(
        ".{name}.{kind}-{}-{}-{n}",
        host(),
        std::process::id()
    ))
}

/// If `name` is a temporary name made on this host, the PID of its maker.
fn leftover_pid(name: &str, kind: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let mut parts = rest.rsplitn(3, '-');
    let n = parts.next()?;
    let pid = parts.next()?;
    let head = parts.next()?;
    let tag = format!(".{kind}-{}", host());
    let stem = head.strip_suffix(&tag)?;
    if stem.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` is known not to exist on this host.
fn process_gone(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        // EPERM means it exists but belongs to someone else: not gone.
        matches!(
            rustix::process::test_kill_process(pid),
            Err(e) if e == rustix::io::Errno::SRCH
        )
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Removes what writers that are provably gone left in `dir`: temporary
/// files and directories (`.NAME.tmp-HOST-PID-N`) and set-aside studies
/// (`.NAME.old-HOST-PID-N`) made on this host by a process that no longer
/// exists. In a temporary directory only regular files and links are
/// removed; a set-aside study is removed only if it is still one. Returns
/// what was removed. Errors are ignored: sweeping is housekeeping.
pub fn sweep(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if let Some(pid) = leftover_pid(name, "tmp") {
            if !process_gone(pid) {
                continue;
            }
            if meta.file_type().is_file() {
                if fs::remove_file(&path).is_ok() {
                    removed.push(path);
                }
            } else if meta.file_type().is_dir() {
                if let Ok(inner) = fs::read_dir(&path) {
                    for e in inner.flatten() {
                        let kind = e.file_type();
                        if kind.is_ok_and(|k| k.is_file() || k.is_symlink()) {
                            let _ = fs::remove_file(e.path());
                        }
                    }
                }
                if fs::remove_dir(&path).is_ok() {
                    removed.push(path);
                }
            }
        } else if let Some(pid) = leftover_pid(name, "old")
            && process_gone(pid)
            && meta.file_type().is_dir()
            && let Ok(existing) = inspect(&path)
        {
            remove_study(&path, &existing);
            if !path.exists() {
                removed.push(path);
            }
        }
    }
    removed
}

/// Deletes a directory that [`inspect`] found replaceable: its listed files,
/// then the directory if that left it empty.
fn remove_study(path: &Path, existing: &Existing) {
    if let Existing::Study { files } = existing {
        for f in files {
            let _ = fs::remove_file(path.join(f));
        }
    }
    let _ = fs::remove_dir(path);
}

/// Creates `path`'s parent directories (with the umask's permissions).
fn create_parent(path: &Path) -> Result<PathBuf, FileError> {
    let parent = parent_of(path);
    fs::DirBuilder::new()
        .recursive(true)
        .create(&parent)
        .map_err(io_at(&parent))?;
    Ok(parent)
}

/// An exclusive advisory lock on a directory, held until dropped. Where the
/// file system cannot lock (some network file systems), writers go on
/// without it: the checks still run, only their atomicity is lost.
struct DirLock {
    _file: Option<fs::File>,
}

impl DirLock {
    fn new(dir: &Path) -> DirLock {
        #[cfg(unix)]
        {
            let file = fs::File::open(dir).ok().filter(|f| {
                rustix::fs::flock(f, rustix::fs::FlockOperation::LockExclusive).is_ok()
            });
            DirLock { _file: file }
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            DirLock { _file: None }
        }
    }
}

/// Swaps `a` and `b` in one step where the system can; `Ok(false)` where it cannot.
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    ))]
    {
        match rustix::fs::renameat_with(
            rustix::fs::CWD,
            a,
            rustix::fs::CWD,
            b,
            rustix::fs::RenameFlags::EXCHANGE,
        ) {
            Ok(()) => Ok(true),
            Err(e)
                if e == rustix::io::Errno::INVAL
                    || e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::NOTSUP =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    )))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Writes a directory all or nothing: runs `fill` on a fresh temporary
/// directory beside `dir`, then puts it in `dir`'s place, replacing only
/// what [`inspect`] allows. On any error `dir` is left as it was and the
/// temporary directory is removed.
///
/// `dir` is checked before `fill` runs (so a refused destination costs no
/// work) and again, under a lock on the parent directory, before it is
/// replaced.
///
/// # Errors
/// `fill`'s error; [`FileError::Refused`] if `dir` holds something armsim
/// did not write; [`FileError::Io`] if a directory cannot be created or renamed.
pub fn write_dir_atomically<E: From<FileError>>(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    inspect(dir)?;
    let parent = create_parent(dir)?;
    sweep(&parent);
    let tmp = temp_path(dir, "tmp");
    fs::DirBuilder::new().create(&tmp).map_err(io_at(&tmp))?;
    let discard = |tmp: &Path| {
        remove_study(
            tmp,
            &Existing::Study {
                files: fs::read_dir(tmp)
                    .map(|d| d.flatten().map(|e| e.file_name()).collect())
                    .unwrap_or_default(),
            },
        )
    };
    if let Err(e) = fill(&tmp) {
        discard(&tmp);
        return Err(e);
    }
    match replace_with(dir, &tmp, &parent) {
        Ok(()) => Ok(()),
        Err(e) => {
            discard(&tmp);
            Err(e.into())
        }
    }
}

/// Under the parent's lock, checks `dir` again and puts `tmp` in its place.
fn replace_with(dir: &Path, tmp: &Path, parent: &Path) -> Result<(), FileError> {
    let lock = DirLock::new(parent);
    let existing = inspect(dir)?;
    if existing == Existing::Nothing {
        fs::rename(tmp, dir).map_err(io_at(dir))?;
        return Ok(());
    }
    // `tmp` now holds the old study (or empty directory), to be removed.
    let old = if exchange(tmp, dir).map_err(io_at(dir))? {
        tmp.to_path_buf()
    } else {
        let old = temp_path(dir, "old");
        fs::rename(dir, &old).map_err(io_at(dir))?;
        if let Err(e) = fs::rename(tmp, dir) {
            let _ = fs::rename(&old, dir);
            return Err(io_at(dir)(e));
        }
        old
    };
    drop(lock);
    remove_study(&old, &existing);
    Ok(())
}

/// Writes a file all or nothing: `write` fills a fresh temporary file beside
/// `path`, which is synced and renamed onto `path`. An existing `path` is
/// replaced only if `ours` says armsim wrote it (it is given the path of a
/// regular file); anything else at `path` is refused and left untouched.
///
/// # Errors
/// [`FileError::Refused`] or [`FileError::Io`].
pub fn write_file_atomically(
    path: &Path,
    ours: impl Fn(&Path) -> bool,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), FileError> {
    check_file_replaceable(path, &ours)?;
    let parent = create_parent(path)?;
    sweep(&parent);
    let tmp = temp_path(path, "tmp");
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut buffered = io::BufWriter::new(&mut file);
        write(&mut buffered)?;
        buffered.flush()?;
        drop(buffered);
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_at(path)(e));
    }
    let lock = DirLock::new(&parent);
    let replaced = check_file_replaceable(path, &ours)
        .and_then(|()| fs::rename(&tmp, path).map_err(io_at(path)));
    drop(lock);
    if replaced.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    replaced
}

/// Whether armsim may replace (or create) the file at `path`: nothing is
/// there, or a file `ours` recognises.
///
/// # Errors
/// [`FileError::Refused`] naming what is there instead, [`FileError::Io`]
/// if it cannot be looked at.
pub fn check_file_replaceable(path: &Path, ours: &impl Fn(&Path) -> bool) -> Result<(), FileError> {
    let refuse = |reason| FileError::Refused {
        path: path.to_path_buf(),
        reason,
    };
    if path.file_name().is_none() {
        return Err(refuse(Refusal::NoName));
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_at(path)(e)),
        Ok(m) if m.file_type().is_symlink() => Err(refuse(Refusal::Symlink)),
        Ok(m) if m.file_type().is_file() => {
            if ours(path) {
                Ok(())
            } else {
                Err(refuse(Refusal::NotOurFile))
            }
        }
        Ok(m) if m.file_type().is_dir() => Err(refuse(Refusal::NotAFile("a directory"))),
        Ok(_) => Err(refuse(Refusal::NotAFile("a device, FIFO or socket"))),
    }
}

/// Removes the file at `path` if `ours` says armsim wrote it; leaves
/// anything else (and reports nothing for a missing file).
///
/// # Errors
/// [`FileError::Refused`] if something else is there, [`FileError::Io`] if
/// the removal fails.
pub fn remove_file_if_ours(path: &Path, ours: impl Fn(&Path) -> bool) -> Result<(), FileError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        _ => {}
    }
    check_file_replaceable(path, &ours)?;
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

/// Whether the file at `path` begins with `magic` (how armsim recognises
/// the binary files it wrote).
pub fn starts_with(path: &Path, magic: &[u8]) -> bool {
    let mut head = vec![0; magic.len()];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == magic
}

/// Makes `label` (a scenario id, from a file name or a state file) safe as
/// one path component: letters, digits and `._+=@-` are kept, anything else
/// becomes `_`, leading dots are dropped and the length is bounded. A label
/// never names a path: `../x` and `/some/dir` become `x` and `some_dir`.
pub fn path_component(label: &str) -> String {
    let mapped: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+=@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['.', '_']);
    let mut out: String = trimmed.chars().take(120).collect();
    if out.is_empty() {
        out = "study".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(dir: &Path, files: &[&str]) {
        fs::create_dir_all(dir).unwrap();
        for f in files {
            fs::write(dir.join(f), "x").unwrap();
        }
        let manifest = serde_json::json!({ "written_by": "armsim", "files": files });
        fs::write(dir.join(MANIFEST), manifest.to_string()).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn fill(tmp: &Path) -> Result<(), FileError> {
        fs::write(tmp.join("new.csv"), "1").map_err(io_at(tmp))?;
        fs::write(
            tmp.join(MANIFEST),
            r#"{"written_by":"armsim","files":["new.csv"]}"#,
        )
        .map_err(io_at(tmp))
    }

    #[test]
    fn what_armsim_may_replace() {
        let root = tempfile::tempdir().unwrap();
        let p = |n: &str| root.path().join(n);
        assert_eq!(inspect(&p("none")).unwrap(), Existing::Nothing);
        fs::create_dir(p("empty")).unwrap();
        assert_eq!(inspect(&p("empty")).unwrap(), Existing::EmptyDir);
        study(&p("study"), &["summary.csv"]);
        assert!(matches!(
            inspect(&p("study")).unwrap(),
            Existing::Study { .. }
        ));

        // A study with a file of the user's added to it is no longer replaceable.
        study(&p("added"), &["summary.csv"]);
        fs::write(p("added/notes.txt"), "mine").unwrap();
        let refused = |path: &Path| match inspect(path) {
            Err(FileError::Refused { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refused(&p("added")),
            Refusal::Foreign {
                entries: vec!["notes.txt".into()],
                count: 1
            }
        );
        // A manifest someone else wrote does not count.
        fs::create_dir(p("theirs")).unwrap();
        fs::write(p("theirs/manifest.json"), r#"{"files":["a"]}"#).unwrap();
        fs::write(p("theirs/a"), "").unwrap();
        assert!(matches!(
            refused(&p("theirs")),
            Refusal::Foreign { count: 2, .. }
        ));
        // A listed name that is a directory is not armsim's file.
        study(&p("nested"), &[]);
        fs::write(
            p("nested/manifest.json"),
            r#"{"written_by":"armsim","files":["sub"]}"#,
        )
        .unwrap();
        fs::create_dir(p("nested/sub")).unwrap();
        assert!(matches!(refused(&p("nested")), Refusal::Foreign { .. }));
        // A manifest may not list paths outside its directory.
        study(&p("escape"), &[]);
        fs::write(
            p("escape/manifest.json"),
            r#"{"written_by":"armsim","files":["../x"]}"#,
        )
        .unwrap();
        fs::write(p("escape/y"), "").unwrap();
        assert!(matches!(refused(&p("escape")), Refusal::Foreign { .. }));

        fs::write(p("file"), "precious").unwrap();
        assert_eq!(
            refused(&p("file")),
            Refusal::NotADirectory("a regular file")
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(p("study"), p("link")).unwrap();
            assert_eq!(refused(&p("link")), Refusal::Symlink);
        }
        assert_eq!(refused(Path::new(".")), Refusal::NoName);
        assert_eq!(refused(Path::new("a/..")), Refusal::NoName);
    }

    #[test]
    fn a_study_replaces_only_what_armsim_wrote() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        write_dir_atomically(&dir, fill).unwrap();
        assert_eq!(names(&dir), ["manifest.json", "new.csv"]);
        // An earlier study is replaced, and nothing is left beside it.
        fs::write(dir.join("new.csv"), "old").unwrap();
        write_dir_atomically(&dir, fill).unwrap();
        assert_eq!(fs::read_to_string(dir.join("new.csv")).unwrap(), "1");
        assert_eq!(names(root.path()), ["out"]);
        // A user's file in it stops the next write, and the fill never runs.
        fs::write(dir.join("chapter1.tex"), "precious").unwrap();
        let err = write_dir_atomically(&dir, |_| -> Result<(), FileError> {
            panic!("no work for a refused destination")
        })
        .unwrap_err();
        assert!(err.to_string().contains("chapter1.tex"), "{err}");
        assert_eq!(
            fs::read_to_string(dir.join("chapter1.tex")).unwrap(),
            "precious"
        );
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn a_failed_fill_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("study");
        let result = write_dir_atomically(&dir, |tmp| {
            fs::write(tmp.join("half.csv"), "x").unwrap();
            Err(FileError::Io {
                path: tmp.join("p.png"),
                source: io::Error::other("boom"),
            })
        });
        assert!(result.is_err());
        assert!(names(root.path()).is_empty(), "nothing left behind");
    }

    #[test]
    fn leftovers_of_gone_writers_are_swept_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        // A PID above any kernel's pid_max cannot be running.
        let dead = 4_194_305 + 1000;
        let live = std::process::id();
        let h = host();
        let tmp_dir = root.path().join(format!(".out.tmp-{h}-{dead}-0"));
        fs::create_dir(&tmp_dir).unwrap();
        fs::write(tmp_dir.join("summary.csv"), "half").unwrap();
        let tmp_file = root
            .path()
            .join(format!("..out.checkpoint.tmp-{h}-{dead}-3"));
        fs::write(&tmp_file, "half").unwrap();
        let old = root.path().join(format!(".out.old-{h}-{dead}-1"));
        study(&old, &["summary.csv"]);
        // Kept: a live writer's, another host's, a set-aside dir that is no
        // longer a study, and names that only look similar.
        let keep = [
            format!(".out.tmp-{h}-{live}-0"),
            format!(".out.tmp-otherhost-{dead}-0"),
            format!(".out.tmp-{h}-{dead}-x"),
            format!(".tmp-{h}-{dead}-0"),
            "notes.tmp-1-2".to_string(),
            ".out.tmp1234".to_string(),
        ];
        for k in &keep {
            fs::write(root.path().join(k), "keep").unwrap();
        }
        let odd = root.path().join(format!(".x.old-{h}-{dead}-2"));
        fs::create_dir(&odd).unwrap();
        fs::write(odd.join("thesis.tex"), "precious").unwrap();

        let mut removed = sweep(root.path());
        removed.sort();
        let mut expected = vec![tmp_file, tmp_dir, old];
        expected.sort();
        assert_eq!(removed, expected);
        let mut left = keep.to_vec();
        left.push(format!(".x.old-{h}-{dead}-2"));
        left.sort();
        assert_eq!(names(root.path()), left);
        assert!(odd.join("thesis.tex").exists());
    }

    #[test]
    fn files_replace_only_files_armsim_wrote() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("state");
        let ours = |p: &Path| starts_with(p, b"MAGIC");
        write_file_atomically(&path, ours, |w| w.write_all(b"MAGIC 1")).unwrap();
        write_file_atomically(&path, ours, |w| w.write_all(b"MAGIC 2")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"MAGIC 2");
        fs::write(&path, "precious").unwrap();
        assert!(write_file_atomically(&path, ours, |w| w.write_all(b"MAGIC 3")).is_err());
        assert!(remove_file_if_ours(&path, ours).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"precious");
        assert_eq!(names(root.path()), ["state"]);
        fs::write(&path, "MAGIC 4").unwrap();
        remove_file_if_ours(&path, ours).unwrap();
        assert!(names(root.path()).is_empty());
        remove_file_if_ours(&path, ours).unwrap();
    }

    #[test]
    fn labels_never_name_paths() {
        assert_eq!(path_component("myanmar_2021"), "myanmar_2021");
        assert_eq!(path_component("../x"), "x");
        assert_eq!(path_component("/some/dir"), "some_dir");
        assert_eq!(path_component(".."), "study");
        assert_eq!(path_component("a b\u{7}c"), "a_b_c");
        assert!(!path_component(&"x/".repeat(500)).contains('/'));
        assert!(path_component(&"x".repeat(500)).len() <= 120);
    }
}
