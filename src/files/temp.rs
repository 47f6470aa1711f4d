//! Temporary files: hidden, beside the file they will become, named after the process
//! that owns them, and removed on every way out posekit controls.
//!
//! Three ways out are covered. A writer dropped on an error removes its temporary
//! ([`TempFile`]'s `Drop`). "Quit now" (a second Ctrl-C or SIGTERM) exits without
//! unwinding, so it first calls [`remove_live`], which removes every temporary still
//! open, from a registry. SIGKILL leaves them, so the next run that writes the same
//! target removes those whose process is gone ([`remove_stale`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Every temporary this process has made and not yet moved into place or removed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Tells apart temporaries of one process for one target (`serve` runs many jobs).
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A reserved temporary path; the file (or folder) itself is made by its writer.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// `dir/.name.tmp-PID-N.ext` beside `real`: hidden; in the same folder, so the final
    /// rename is atomic; ending in the target's extension, so FFmpeg picks the same
    /// container. Removes the temporaries of `real` that dead processes left first.
    pub fn beside(real: &Path) -> TempFile {
        let ext = real
            .extension()
            .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
        Self::reserve(real, &ext)
    }

    /// Like [`TempFile::beside`], for a scratch folder (`.name.tmp-PID-N.d`).
    pub fn folder_beside(real: &Path) -> TempFile {
        Self::reserve(real, ".d")
    }

    fn reserve(real: &Path, ext: &str) -> TempFile {
        for removed in remove_stale(real) {
            eprintln!(
                "posekit: removed {}, left by an earlier run that was killed",
                removed.display()
            );
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = real.with_file_name(format!("{}{}-{n}{ext}", prefix(real), std::process::id()));
        lock_live().push(path.clone());
        TempFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the finished temporary to `dest`, which it replaces.
    pub fn persist(self, dest: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        forget(&self.path);
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for TempFile {
    /// A temporary never moved into place is removed, file or folder.
    fn drop(&mut self) {
        remove(&self.path);
        forget(&self.path);
    }
}

/// Removes every temporary this process still has; returns how many there were. For
/// the quit-now path, which exits without running destructors.
pub fn remove_live() -> usize {
    let live = std::mem::take(&mut *lock_live());
    live.iter().for_each(|path| remove(path));
    live.len()
}

/// Removes the temporaries of `real` whose process no longer runs; returns them.
pub fn remove_stale(real: &Path) -> Vec<PathBuf> {
    let prefix = prefix(real);
    let folder = match real.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix).and_then(leading_pid) else {
            continue;
        };
        if pid != std::process::id() && !process_runs(pid) {
            remove(&entry.path());
            removed.push(entry.path());
        }
    }
    removed
}

/// `.name.tmp-`: what every temporary of `real` starts with.
fn prefix(real: &Path) -> String {
    let name = real
        .file_name()
        .map_or("output".into(), |n| n.to_string_lossy());
    format!(".{name}.tmp-")
}

/// The PID at the start of `1234-0.jsonl` (or `1234.jsonl`, as older versions named it).
fn leading_pid(rest: &str) -> Option<u32> {
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Signal 0 checks that a process exists without touching it; EPERM means it exists
/// but belongs to someone else.
fn process_runs(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only reports whether `pid` exists.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn remove(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

fn forget(path: &Path) {
    lock_live().retain(|p| p != path);
}

/// The registry stays usable even if a thread panicked while holding it.
fn lock_live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_beside_the_target_with_its_extension() {
        let temp = TempFile::beside(Path::new("/o/overlay.mp4"));
        assert_eq!(temp.path().parent(), Some(Path::new("/o")));
        let name = temp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(".overlay.mp4.tmp-"), "{name}");
        assert!(name.ends_with(".mp4"), "{name}");
    }

    #[test]
    fn dropped_temporary_is_removed_and_persisted_one_moves() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.jsonl");
        let temp = TempFile::beside(&target);
        std::fs::write(temp.path(), "x").unwrap();
        drop(temp);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let temp = TempFile::beside(&target);
        std::fs::write(temp.path(), "y").unwrap();
        temp.persist(&target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "y");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_of_dead_processes_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("clip.poses.jsonl");
        // PID 1 always runs; a PID above the kernel's limit never does.
        let live = dir.path().join(".clip.poses.jsonl.tmp-1-0.jsonl");
        let dead = dir.path().join(".clip.poses.jsonl.tmp-4999999.jsonl");
        let dead_dir = dir.path().join(".clip.poses.jsonl.tmp-4999998-3.d");
        let other = dir.path().join(".other.jsonl.tmp-4999999.jsonl");
        for file in [&live, &dead, &other] {
            std::fs::write(file, "x").unwrap();
        }
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("0.bin"), "x").unwrap();
        let mut removed = remove_stale(&target);
        removed.sort();
        let mut expected = vec![dead.clone(), dead_dir.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(live.exists() && other.exists());
    }
}
