//! Whole small files (posekit.toml, `.wslconfig`, bench's exports), written by the
//! rules of [`super`], keeping the version they replace.
//!
//! The previous file is first copied, byte for byte, to a backup beside it whose name
//! carries the time (`.wslconfig.20261127-153012.bak`), so writing twice on different
//! days keeps both earlier versions. Writing what is already there does nothing at all:
//! no backup, no rename, the modification time untouched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::target::resolve_for_writing;
use super::temp::TempFile;
use super::FileError;

/// What [`write_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// The file already held exactly these bytes.
    Unchanged,
    /// There was no file; now there is.
    Created,
    /// The file was replaced; its previous bytes are in `backup`.
    Replaced { backup: PathBuf },
}

/// Writes `bytes` to `path` atomically, keeping the previous file as a timestamped
/// backup. A link at `path` is followed and stays a link; anything but a regular file
/// there is refused.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<Written, FileError> {
    let target = resolve_for_writing(path)?;
    let real = &target.real;
    let old = match target.exists {
        true => Some(std::fs::read(real).map_err(|e| FileError::io("read", path, e))?),
        false => None,
    };
    if old.as_deref() == Some(bytes) {
        return Ok(Written::Unchanged);
    }
    if let Some(dir) = real.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| FileError::io("create the folder for", path, e))?;
    }
    let temp = TempFile::beside(real);
    let mut file =
        std::fs::File::create(temp.path()).map_err(|e| FileError::io("write beside", path, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| FileError::io("write beside", path, e))?;
    // Keep the user's permissions (a private config stays private).
    if let Ok(meta) = std::fs::metadata(real) {
        let _ = std::fs::set_permissions(temp.path(), meta.permissions());
    }
    let written = match old {
        Some(old) => Written::Replaced {
            backup: write_backup(real, &old)?,
        },
        None => Written::Created,
    };
    temp.persist(real)
        .map_err(|e| FileError::io("replace", path, e))?;
    Ok(written)
}

/// Writes the bytes we read (not a second read of the file) to a new, never-existing
/// backup name, so two writes within one second each keep their own backup.
fn write_backup(path: &Path, old: &[u8]) -> Result<PathBuf, FileError> {
    let stamp = utc_stamp(SystemTime::now());
    for n in 0..100 {
        let backup = backup_path(path, &stamp, n);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&backup)
        {
            Ok(mut file) => {
                file.write_all(old)
                    .and_then(|_| file.sync_all())
                    .map_err(|e| FileError::io("write the backup", &backup, e))?;
                return Ok(backup);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).map_err(|e| FileError::io("write the backup", &backup, e)),
        }
    }
    Err(FileError::io(
        "keep a backup of",
        path,
        std::io::Error::other("a hundred backups were made this second already"),
    ))
}

/// `.wslconfig` → `.wslconfig.20261127-153012.bak` (then `-1`, `-2` within one second).
fn backup_path(path: &Path, stamp: &str, n: usize) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{stamp}"));
    if n > 0 {
        name.push(format!("-{n}"));
    }
    name.push(".bak");
    path.with_file_name(name)
}

/// `20261127-153012`, in UTC so backups sort by time whatever the time zone.
fn utc_stamp(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(time);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// Now as RFC 3339 in UTC (`2026-11-27T15:30:12Z`), for `measured` in posekit.toml.
pub fn utc_now_rfc3339() -> String {
    let (y, mo, d, h, mi, s) = civil(SystemTime::now());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Calendar date and time of day in UTC (Howard Hinnant's days-to-civil algorithm), so
/// no date crate is needed for two timestamps.
fn civil(time: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rest = rest as u32;
    (year, month, day, rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;
    use std::time::Duration;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn create_replace_and_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(".wslconfig");
        assert_eq!(write_file(&path, b"one\r\n").unwrap(), Written::Created);
        assert_eq!(write_file(&path, b"one\r\n").unwrap(), Written::Unchanged);
        let Written::Replaced { backup } = write_file(&path, b"two").unwrap() else {
            panic!("replaced");
        };
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read(&backup).unwrap(), b"one\r\n");
        let listed = names(&dir.path().join("sub"));
        assert_eq!(listed.len(), 2, "no temporary left: {listed:?}");
        assert!(listed[1].starts_with(".wslconfig.") && listed[1].ends_with(".bak"));
    }

    #[test]
    fn two_backups_in_one_second_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posekit.toml");
        std::fs::write(&path, "a").unwrap();
        write_file(&path, b"b").unwrap();
        write_file(&path, b"c").unwrap();
        let backups: Vec<String> = names(dir.path())
            .into_iter()
            .filter(|n| n.ends_with(".bak"))
            .collect();
        assert_eq!(backups.len(), 2, "{backups:?}");
    }

    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posekit.toml");
        std::fs::write(&path, "a").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_file(&path, b"b").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_link_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "a").unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink("real.toml", &link).unwrap();
        let Written::Replaced { backup } = write_file(&link, b"b").unwrap() else {
            panic!("replaced");
        };
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"b");
        assert_eq!(backup.parent(), Some(dir.path()));
        assert_eq!(std::fs::read(&backup).unwrap(), b"a");
    }

    #[test]
    fn a_fifo_is_refused_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("posekit.toml");
        super::super::mkfifo_for_tests(&fifo);
        let err = write_file(&fifo, b"x").unwrap_err();
        assert!(format!("{err:#}").contains("FIFO"), "{err:#}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }

    #[test]
    fn unwritable_place_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let err = write_file(&dir.path().join("file/.wslconfig"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains(".wslconfig"), "{err:#}");
    }

    #[test]
    fn timestamps_in_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_793_412); // 2026-11-27 15:30:12 UTC
        assert_eq!(utc_stamp(t), "20261127-153012");
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229-000000"
        );
        assert!(utc_now_rfc3339().ends_with('Z'));
    }
}
