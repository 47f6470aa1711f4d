//! Exports: one file, or a folder of many, written by the rules of [`crate::files`].
//!
//! A single file goes to a temporary beside it and is renamed into place. A folder that
//! does not exist yet is built as a hidden temporary folder beside it and renamed into
//! place when every file is in, so a reader never sees half an export. An existing
//! folder is only written into with `--overwrite`, each file atomically, and only the
//! files of the export are replaced: whatever else the user keeps there stays.

use std::path::{Path, PathBuf};

use super::{resolve_for_writing, FileError, Resolved, TempFile};

/// Why an export cannot be written where it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ExportFileError {
    #[error("{0} exists; posekit never replaces a file it was not asked to.\nFix: add --overwrite, or choose another path with -o")]
    Exists(PathBuf),
    #[error("{0} is a file, but this format writes a folder of files.\nFix: choose a folder path with -o")]
    NotAFolder(PathBuf),
    #[error(transparent)]
    File(#[from] FileError),
}

/// Writes `bytes` to `dest` atomically; an existing file needs `overwrite`.
pub fn write_new_file(dest: &Path, bytes: &[u8], overwrite: bool) -> Result<(), ExportFileError> {
    create_parent(dest)?;
    let target = resolve_for_writing(dest)?;
    if target.exists && !overwrite {
        return Err(ExportFileError::Exists(dest.to_path_buf()));
    }
    write_atomically(&target, bytes)
}

fn write_atomically(target: &Resolved, bytes: &[u8]) -> Result<(), ExportFileError> {
    let temp = TempFile::beside(&target.real);
    std::fs::write(temp.path(), bytes).map_err(|e| FileError::io("write", &target.given, e))?;
    temp.persist(&target.real)
        .map_err(|e| FileError::io("move the finished file to", &target.given, e))?;
    Ok(())
}

/// The folders above `dest` that are missing (`-o pose/cam01_json` in a new project).
fn create_parent(dest: &Path) -> Result<(), FileError> {
    match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|e| FileError::io("create the folder", parent, e)),
        _ => Ok(()),
    }
}

/// A folder being written; see the module docs.
pub struct FolderWriter {
    dest: PathBuf,
    /// The hidden folder the files go to first, when `dest` did not exist.
    staging: Option<TempFile>,
}

impl FolderWriter {
    /// Refuses an existing folder without `overwrite`, and anything that is not a folder.
    pub fn open(dest: &Path, overwrite: bool) -> Result<Self, ExportFileError> {
        match std::fs::metadata(dest) {
            Ok(meta) if !meta.is_dir() => Err(ExportFileError::NotAFolder(dest.to_path_buf())),
            Ok(_) if !overwrite => Err(ExportFileError::Exists(dest.to_path_buf())),
            Ok(_) => Ok(FolderWriter {
                dest: dest.to_path_buf(),
                staging: None,
            }),
            Err(_) => {
                create_parent(dest)?;
                let staging = TempFile::folder_beside(dest);
                std::fs::create_dir(staging.path())
                    .map_err(|e| FileError::io("create a folder beside", dest, e))?;
                Ok(FolderWriter {
                    dest: dest.to_path_buf(),
                    staging: Some(staging),
                })
            }
        }
    }

    /// Where a file named `name` is written now (inside the staging folder, or the
    /// destination itself when it already existed).
    pub fn path_of(&self, name: &str) -> PathBuf {
        match &self.staging {
            Some(staging) => staging.path().join(name),
            None => self.dest.join(name),
        }
    }

    /// Writes one file of the export.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), ExportFileError> {
        let path = self.path_of(name);
        match self.staging {
            // Nobody sees the hidden staging folder until it is complete.
            Some(_) => std::fs::write(&path, bytes)
                .map_err(|e| FileError::io("write", &self.dest.join(name), e).into()),
            None => write_atomically(&resolve_for_writing(&path)?, bytes),
        }
    }

    /// Moves the finished folder into place; returns its path.
    pub fn finish(self) -> Result<PathBuf, ExportFileError> {
        if let Some(staging) = self.staging {
            if self.dest.exists() {
                // Another process made it meanwhile: keep theirs.
                return Err(ExportFileError::Exists(self.dest));
            }
            staging
                .persist(&self.dest)
                .map_err(|e| FileError::io("move the finished folder to", &self.dest, e))?;
        }
        Ok(self.dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_folder_appears_complete_and_existing_one_needs_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let folder = FolderWriter::open(&dest, false).unwrap();
        folder.write("a.json", b"1").unwrap();
        assert!(!dest.exists(), "the folder appears only when finished");
        folder.finish().unwrap();
        assert_eq!(std::fs::read(dest.join("a.json")).unwrap(), b"1");
        assert!(matches!(
            FolderWriter::open(&dest, false),
            Err(ExportFileError::Exists(_))
        ));
        std::fs::write(dest.join("mine.txt"), b"keep").unwrap();
        let folder = FolderWriter::open(&dest, true).unwrap();
        folder.write("a.json", b"2").unwrap();
        folder.finish().unwrap();
        assert_eq!(std::fs::read(dest.join("a.json")).unwrap(), b"2");
        assert_eq!(std::fs::read(dest.join("mine.txt")).unwrap(), b"keep");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporaries"
        );
    }

    #[test]
    fn missing_parent_folders_are_made() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("pose/cam01_json");
        FolderWriter::open(&dest, false).unwrap().finish().unwrap();
        assert!(dest.is_dir());
        write_new_file(&dir.path().join("a/b.csv"), b"x", false).unwrap();
    }

    #[test]
    fn a_file_is_replaced_only_with_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.csv");
        std::fs::write(&dest, b"mine").unwrap();
        assert!(write_new_file(&dest, b"new", false).is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"mine");
        write_new_file(&dest, b"new", true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert!(matches!(
            FolderWriter::open(&dest, true),
            Err(ExportFileError::NotAFolder(_))
        ));
    }
}
