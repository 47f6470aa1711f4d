//! Where a write to a path really lands, what kind of thing sits there, and whether two
//! paths name one file. Nothing here writes.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::FileError;

/// Links followed before a chain counts as a loop; Linux's own limit (`MAXSYMLINKS`).
const MAX_LINK_HOPS: usize = 40;

/// A write target after links are followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The path as the user gave it (what messages show).
    pub given: PathBuf,
    /// The file the write creates or replaces: `given` with every symbolic link at the
    /// end of the path followed, so the temporary file goes in this file's own folder
    /// and the rename replaces it, not the link.
    pub real: PathBuf,
    /// A regular file is there now.
    pub exists: bool,
}

/// Follows `path` to the file a write would replace; refuses anything but a regular
/// file or nothing at all. Never opens the target, so a FIFO cannot block here.
pub fn resolve_for_writing(path: &Path) -> Result<Resolved, FileError> {
    let real = follow_links(path)?;
    let exists = match std::fs::symlink_metadata(&real) {
        Ok(meta) => match special_kind(&meta) {
            None => true,
            Some(kind) => {
                return Err(FileError::NotRegular {
                    path: path.to_path_buf(),
                    kind,
                })
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(FileError::io("inspect", path, e)),
    };
    Ok(Resolved {
        given: path.to_path_buf(),
        real,
        exists,
    })
}

/// Checks that `path` is a regular file posekit can read, with a message of its own for
/// each way it is not (missing, a link loop, a folder, a FIFO, a device).
pub fn check_input(path: &Path) -> Result<(), FileError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(FileError::LinkLoop {
                path: path.to_path_buf(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FileError::Missing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(FileError::io("read", path, e)),
    };
    match special_kind(&meta) {
        None => Ok(()),
        Some(kind) => Err(FileError::InputNotRegular {
            path: path.to_path_buf(),
            kind,
        }),
    }
}

/// Follows symbolic links at the end of `path` (the OS follows those inside it), each
/// relative to the folder of the link that names it.
fn follow_links(path: &Path) -> Result<PathBuf, FileError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let points_to = std::fs::read_link(&current)
                    .map_err(|e| FileError::io("follow the link", &current, e))?;
                current = match current.parent() {
                    Some(folder) if points_to.is_relative() => folder.join(points_to),
                    _ => points_to,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(FileError::LinkLoop {
        path: path.to_path_buf(),
    })
}

/// What a non-regular file is, in words for a message; `None` for a regular file.
fn special_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a folder")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_symlink() {
        Some("a symbolic link")
    } else {
        Some("a special file")
    }
}

/// Which file a path names, comparable across spellings: the device and inode when it
/// exists (so hard links and `./x` versus `x` agree), else its absolute location.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Identity {
    Inode(u64, u64),
    Location(PathBuf),
}

fn identity(path: &Path) -> Identity {
    if let Ok(meta) = std::fs::metadata(path) {
        return Identity::Inode(meta.dev(), meta.ino());
    }
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let folder = folder
        .canonicalize()
        .or_else(|_| std::path::absolute(&folder))
        .unwrap_or(folder);
    Identity::Location(folder.join(name))
}

/// The files one run reads and writes. Outputs are checked as they are added: none may
/// be an input, and no two may be one file (`-o same.mp4 --render same.mp4` would lose
/// the result). Run this before decoding a single frame.
#[derive(Debug, Default)]
pub struct Claims {
    inputs: Vec<(PathBuf, Identity)>,
    outputs: Vec<(String, Identity)>,
}

impl Claims {
    pub fn input(&mut self, path: &Path) {
        self.inputs.push((path.to_path_buf(), identity(path)));
    }

    /// `what` names the output in messages (`-o`, `--render`, "the partial result").
    pub fn output(&mut self, what: &str, target: &Resolved) -> Result<(), FileError> {
        let id = identity(&target.real);
        if let Some((input, _)) = self.inputs.iter().find(|(_, i)| *i == id) {
            return Err(FileError::OutputIsInput {
                what: what.to_string(),
                output: target.given.clone(),
                input: input.clone(),
            });
        }
        if let Some((first, _)) = self.outputs.iter().find(|(_, o)| *o == id) {
            return Err(FileError::SameOutput {
                first: first.clone(),
                second: what.to_string(),
                path: target.given.clone(),
            });
        }
        self.outputs.push((what.to_string(), id));
        Ok(())
    }

    /// A name an interrupted run may use: it must not be an input. (It need not be
    /// writable: a taken partial name only moves the partial result to a free one.)
    pub fn partial(&mut self, what: &str, path: &Path) -> Result<(), FileError> {
        let id = identity(path);
        match self.inputs.iter().find(|(_, i)| *i == id) {
            Some((input, _)) => Err(FileError::OutputIsInput {
                what: what.to_string(),
                output: path.to_path_buf(),
                input: input.clone(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_link_resolves_to_the_file_it_points_to() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "x").unwrap();
        let link = dir.path().join("link.toml");
        symlink("real.toml", &link).unwrap();
        let resolved = resolve_for_writing(&link).unwrap();
        assert_eq!(resolved.real, real);
        assert!(resolved.exists);
    }

    #[test]
    fn a_dangling_link_resolves_to_where_it_points() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.jsonl");
        symlink(dir.path().join("sub/none.jsonl"), &link).unwrap();
        let resolved = resolve_for_writing(&link).unwrap();
        assert_eq!(resolved.real, dir.path().join("sub/none.jsonl"));
        assert!(!resolved.exists);
    }

    #[test]
    fn a_link_loop_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        let err = resolve_for_writing(&a).unwrap_err();
        assert!(matches!(err, FileError::LinkLoop { .. }), "{err}");
        let err = check_input(&a).unwrap_err();
        assert!(err.to_string().contains("link loop"), "{err}");
    }

    #[test]
    fn folders_and_fifos_are_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_for_writing(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
        let fifo = dir.path().join("pipe");
        super::super::mkfifo_for_tests(&fifo);
        let err = resolve_for_writing(&fifo).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = check_input(&fifo).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = check_input(&dir.path().join("missing.mp4")).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
    }

    #[test]
    fn an_output_may_not_be_an_input_or_another_output() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("v.mp4");
        std::fs::write(&video, "video").unwrap();
        let mut claims = Claims::default();
        claims.input(&video);
        let alias = dir.path().join(".").join("v.mp4");
        let err = claims
            .output("-o", &resolve_for_writing(&alias).unwrap())
            .unwrap_err();
        assert!(matches!(err, FileError::OutputIsInput { .. }), "{err}");
        let out = dir.path().join("same.mp4");
        claims
            .output("-o", &resolve_for_writing(&out).unwrap())
            .unwrap();
        let err = claims
            .output("--render", &resolve_for_writing(&out).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("-o and --render"), "{err}");
    }

    #[test]
    fn a_link_to_the_input_is_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("v.mp4");
        std::fs::write(&video, "video").unwrap();
        let link = dir.path().join("out.jsonl");
        symlink(&video, &link).unwrap();
        let mut claims = Claims::default();
        claims.input(&video);
        let err = claims
            .output("-o", &resolve_for_writing(&link).unwrap())
            .unwrap_err();
        assert!(matches!(err, FileError::OutputIsInput { .. }), "{err}");
    }
}
