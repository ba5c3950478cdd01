//! What every `manifest.json` opens with, and the one function that writes
//! a manifest.
//!
//! Every directory armsim writes (a study, a shard, a comparison, a sweep or
//! sensitivity analysis and its shards, a calibration, a joint calibration,
//! an evaluation) carries a `manifest.json`. Each command adds what its
//! results depend on, but all of them begin with the same [`Header`]: that
//! armsim wrote it (the mark [`crate::files`] reads before it replaces
//! anything), what kind of result it is, the fingerprint of the settings that
//! decide whether a later command may replace it, the exact build, the time
//! and the command line. [`write`] puts the header and a command's own body
//! into one JSON object, so no command can leave a header field out or spell
//! one differently.

use serde::Serialize;
use std::io::{self, Write};

/// The exact build of armsim that wrote a file.
#[derive(Debug, Clone, Serialize)]
pub struct Build {
    /// armsim's version.
    pub version: &'static str,
    /// The git commit it was built from, where known.
    pub git_commit: Option<&'static str>,
    /// Whether the working tree had uncommitted changes to tracked files.
    pub git_dirty: Option<bool>,
}

/// This build of armsim.
pub fn build() -> Build {
    Build {
        version: env!("CARGO_PKG_VERSION"),
        git_commit: option_env!("ARMSIM_GIT_COMMIT"),
        git_dirty: option_env!("ARMSIM_GIT_DIRTY").map(|d| d == "true"),
    }
}

/// The current time as RFC 3339 UTC, to the second (`2021-02-01T09:30:00Z`).
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The fields every manifest begins with.
#[derive(Debug, Clone, Serialize)]
pub struct Header<'a> {
    /// Always `"armsim"` ([`crate::files::WRITTEN_BY`]): marks the directory
    /// as armsim's, so a later command may replace it.
    pub written_by: &'static str,
    /// What the directory holds: `"study"`, `"study shard"`, `"comparison"`,
    /// `"sweep"`, `"sensitivity"`, `"campaign shard"`, `"calibration"`,
    /// `"joint calibration"` or `"evaluation"`.
    pub kind: &'static str,
    /// Fingerprint of the settings the results depend on
    /// ([`crate::files::settings_fingerprint`]): a later command replaces
    /// this directory, where it is a default one, only if they match.
    pub settings_sha256: String,
    /// armsim's version.
    pub armsim_version: &'static str,
    /// The exact build: version and git commit.
    pub build: Build,
    /// When the directory was written, UTC (RFC 3339).
    pub created_utc: String,
    /// The command line that wrote it, as given (empty if not from a command).
    pub command_line: &'a [String],
}

impl<'a> Header<'a> {
    /// The header of a `kind` of result written now by this build, with its
    /// settings' fingerprint and the command line that asked for it.
    pub fn new(kind: &'static str, settings_sha256: String, command_line: &'a [String]) -> Self {
        Header {
            written_by: crate::files::WRITTEN_BY,
            kind,
            settings_sha256,
            armsim_version: env!("CARGO_PKG_VERSION"),
            build: build(),
            created_utc: utc_now(),
            command_line,
        }
    }
}

/// A manifest: the header's fields, then the body's, in one JSON object.
#[derive(Serialize)]
struct Manifest<'h, 'a, B: Serialize> {
    #[serde(flatten)]
    header: &'h Header<'a>,
    #[serde(flatten)]
    body: &'h B,
}

/// Writes a manifest as pretty JSON ending in a newline: `header`'s fields
/// first, then `body`'s, which must serialize as a map or a struct (a
/// `serde_json::json!({...})` object or a struct with named fields) and
/// must not repeat a header field.
///
/// # Errors
/// What writing to `w` returns; a body that is not a map is an
/// [`io::ErrorKind::InvalidData`] error.
pub fn write(w: &mut impl Write, header: &Header<'_>, body: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &Manifest { header, body })?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_the_header_then_the_body_in_one_object_that_files_recognises() {
        let command_line = vec!["armsim".to_string(), "run".to_string()];
        let header = Header::new("study", "abc".into(), &command_line);
        let mut bytes = Vec::new();
        write(
            &mut bytes,
            &header,
            &serde_json::json!({"seed": 7, "files": ["summary.csv", "manifest.json"]}),
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with("}\n"));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = [
            "written_by",
            "kind",
            "settings_sha256",
            "armsim_version",
            "build",
            "created_utc",
            "command_line",
            "files",
            "seed",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\n  \"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(value.as_object().unwrap().len(), keys.len());
        assert_eq!(value["written_by"], crate::files::WRITTEN_BY);
        assert_eq!(value["command_line"][1], "run");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(crate::files::MANIFEST), &text).unwrap();
        std::fs::write(dir.path().join("summary.csv"), "x\n").unwrap();
        assert_eq!(
            crate::files::manifest_settings(&dir.path().join(crate::files::MANIFEST)).as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_an_error_not_a_broken_file() {
        let header = Header::new("study", "abc".into(), &[]);
        let mut bytes = Vec::new();
        assert!(write(&mut bytes, &header, &[1, 2, 3]).is_err());
    }
}
