//! Helpers shared by the integration tests that use them: the binary in a sandbox whose
//! config folder is a temporary one, and the files tests make for themselves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A short real clip (Sports2D demo excerpt, BSD-3-Clause; see tests/data/README.md).
pub const CLIP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sports2d_clip.webm");

/// A temporary folder that is also the config home, so no test reads the user's
/// posekit.toml or writes near the real home folder.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `posekit ARGS`, with the config home inside the sandbox.
    pub fn posekit(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_posekit"));
        command
            .args(args)
            .env("XDG_CONFIG_HOME", self.path("xdg"))
            .env_remove("POSEKIT_DEBUG_FRAME_DELAY_MS");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.posekit(args).output().expect("posekit runs")
    }

    /// The clip copied in, so tests can check it is never changed.
    pub fn clip(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::copy(CLIP, &path).unwrap();
        path
    }

    /// Names in the sandbox's top folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Hidden temporaries posekit left in the sandbox's top folder.
    pub fn temporaries(&self) -> Vec<String> {
        self.names()
            .into_iter()
            .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
            .collect()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A FIFO at `path` (inside a test's own folder).
pub fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates that one file.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A character device like the null device (1, 3) at `path`, inside a test's own folder;
/// `None` when this user may not make device nodes (not root), so the test says skipped.
pub fn mknod_null(path: &Path) -> Option<()> {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mknod only creates that one node.
    let made = unsafe { libc::mknod(name.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    (made == 0).then_some(())
}

pub fn is_char_device(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

pub fn sha256(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// Sends `signal` to a child this test started, by its PID.
pub fn signal(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signals only the process this test spawned.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits for `child`, killing it (and failing) if it runs past `limit`: a hang is a bug.
pub fn wait_or_kill(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "posekit still ran after {limit:?}; stderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Polls until `ready` holds, for up to `limit`.
pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Spawns with piped output, for tests that signal the process mid-run.
pub fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("posekit starts")
}
