//! Writing the files posekit is asked to write: atomically, and never destroying what a
//! user had there (the previous file is kept beside it as a backup).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::pipeline::paths::temp_path;

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see a
/// half-written file. An existing file at `path` is first kept as `path.bak` (replacing
/// an older backup); returns the backup's path when one was made.
pub fn write_keeping_backup(path: &Path, bytes: &[u8]) -> Result<Option<PathBuf>> {
    let temp = temp_path(path);
    let result = write_then_swap(path, &temp, bytes);
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_then_swap(path: &Path, temp: &Path, bytes: &[u8]) -> Result<Option<PathBuf>> {
    let mut file =
        std::fs::File::create(temp).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let backup = if path.exists() {
        let backup = backup_path(path);
        std::fs::copy(path, &backup)
            .with_context(|| format!("cannot keep a backup of {}", path.display()))?;
        Some(backup)
    } else {
        None
    };
    std::fs::rename(temp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(backup)
}

/// `report.md` → `report.md.bak`.
fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_file_has_no_backup_and_existing_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        assert_eq!(write_keeping_backup(&path, b"one").unwrap(), None);
        let backup = write_keeping_backup(&path, b"two").unwrap().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read(&backup).unwrap(), b"one");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary left"
        );
    }

    #[test]
    fn unwritable_place_is_an_error_naming_the_file() {
        let err = write_keeping_backup(Path::new("/proc/nope/report.md"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("report.md"));
    }
}
