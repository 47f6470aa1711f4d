//! The one place posekit decides how files are written, and what it may write over.
//!
//! The policy, in one paragraph: every write goes to a hidden temporary file in the
//! folder of the file it will become, and is renamed into place when complete, so a
//! reader never sees half a file. A symbolic link at the target is followed: the file
//! it points to is the one replaced, in its own folder, and the link stays a link. A
//! target that is not a regular file (a device, a FIFO, a socket, a folder) is refused
//! before any work starts, whatever `--overwrite` says. No output may be an input, and
//! no two outputs may be one file. Temporary files are removed on every way out that
//! posekit controls, and a later run removes those a killed process left behind.
//!
//! - [`target`]: where a write really lands, what kind of thing is there, and whether
//!   two paths are one file;
//! - [`temp`]: the temporary files themselves, their names, and their cleanup;
//! - [`fingerprint`]: a fast identity of an input, that a result records and resume checks;
//! - [`partial`]: the names an interrupted run keeps its work under;
//! - [`write`]: whole small files (posekit.toml, `.wslconfig`, bench exports), with a
//!   timestamped backup of the version they replace.

pub mod fingerprint;
pub mod partial;
pub mod target;
pub mod temp;
pub mod write;

use std::path::PathBuf;

pub use partial::{default_output, partial_destination, partial_path};
pub use target::{check_input, resolve_for_writing, Claims, Resolved};
pub use temp::TempFile;
pub use write::{utc_now_rfc3339, write_file, Written};

/// What can go wrong before or while posekit writes a file. Every message names the
/// file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path} is {kind}, not a regular file; posekit only ever writes regular files and never replaces {kind}.\nFix: choose a path to a regular file (or to one that does not exist yet)")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: too many levels of symbolic links (a link loop).\nFix: check where the links point with `ls -l`, or choose another path")]
    LinkLoop { path: PathBuf },
    #[error("{path} is {kind}, not a video file; posekit reads regular files (it seeks in them), not {kind}.\nFix: give the path of a video file")]
    InputNotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: no such file.\nFix: check the path; posekit reads video files such as .mp4, .webm, .avi")]
    Missing { path: PathBuf },
    #[error("{what} {output} is the same file as the input {input}; posekit never writes over its input.\nFix: choose another path for {what}")]
    OutputIsInput {
        what: String,
        output: PathBuf,
        input: PathBuf,
    },
    #[error("{first} and {second} both name {path}; one would replace the other.\nFix: give each output its own path")]
    SameOutput {
        first: String,
        second: String,
        path: PathBuf,
    },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Moves a finished temporary into place: over `target` when the run completed, else to a
/// partial name beside it (see [`partial_destination`]; `is_ours` recognises posekit's
/// own partial files). Returns the path to show: the one the user gave, or the partial.
pub fn keep(
    temp: TempFile,
    target: &Resolved,
    interrupted: bool,
    is_ours: impl Fn(&std::path::Path) -> bool,
) -> Result<PathBuf, FileError> {
    let (dest, shown) = match interrupted {
        true => {
            let partial = partial_destination(&target.real, is_ours);
            (partial.clone(), partial)
        }
        false => (target.real.clone(), target.given.clone()),
    };
    temp.persist(&dest)
        .map_err(|e| FileError::io("move the finished file to", &shown, e))?;
    Ok(shown)
}

impl FileError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        FileError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A FIFO at `path`, for the tests that check one is never opened (inside their own
/// temporary folder).
#[cfg(test)]
fn mkfifo_for_tests(path: &std::path::Path) {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates that one file.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}
