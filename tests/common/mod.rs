//! What the integration tests share: the `posekit()` builder, which runs the built binary
//! with its config home in a temporary folder; [`Sandbox`], a temporary folder that is also
//! that config home; readers of its output; the fixtures' paths; the files tests make for
//! themselves (FIFOs, device nodes); signals and waits with a time limit; and the turns
//! that let the serve load test run alone. Nothing here touches the user's own folders.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A short real clip (Sports2D demo excerpt, BSD-3-Clause; see tests/data/README.md).
pub const CLIP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sports2d_clip.webm");

/// The small random-weight HMR2 proxy (`scripts/make_hmr2_proxy.py --small`).
pub const HMR2_SMALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hmr2/hmr2_small.onnx"
);

/// The same model quantized by `scripts/quantize_hmr2.py` (int8 weights in
/// `hmr2_small.int8.onnx.data` beside it; `precision = int8` in its metadata).
pub const HMR2_SMALL_INT8: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hmr2/hmr2_small.int8.onnx"
);

/// The CPU build of ONNX Runtime that `make setup` installs in posekit's data directory,
/// or `None` (a test that needs it by path says it is skipped).
pub fn cpu_runtime() -> Option<PathBuf> {
    let path = posekit::engine::data_dir()?.join("onnxruntime/libonnxruntime.so");
    Some(path).filter(|p| p.is_file())
}

/// `posekit ARGS` with a fresh [`Sandbox`] as its config home, for a run that needs no
/// files of its own: `posekit(&["doctor", "--list"]).run()`.
pub fn posekit(args: &[&str]) -> Posekit {
    let sandbox = Sandbox::new();
    let command = sandbox.posekit(args);
    Posekit {
        command,
        _sandbox: sandbox,
    }
}

/// A `posekit` command and the sandbox it runs in (removed when this is dropped).
pub struct Posekit {
    command: Command,
    _sandbox: Sandbox,
}

impl Posekit {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Runs to the end and returns the output.
    pub fn run(mut self) -> Output {
        self.command.output().expect("posekit runs")
    }
}

/// A temporary folder that is also the config home, so no test reads the user's
/// posekit.toml or writes near the real home folder. It holds a shared [`Turn`].
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    _turn: Turn,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            _turn: shared(),
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

    /// Writes `text` as the posekit.toml of the sandbox's config home; returns its path.
    pub fn write_config(&self, text: &str) -> PathBuf {
        let dir = self.path("xdg/posekit");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("posekit.toml");
        std::fs::write(&path, text).unwrap();
        path
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

// ---- Output ------------------------------------------------------------------------

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stdout as one JSON value; a failure shows what was printed instead.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// A JSON Lines file (a `process` result), one value per line.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

pub fn sha256(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

// ---- Special files -----------------------------------------------------------------

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

// ---- Processes ---------------------------------------------------------------------

/// Spawns with piped output, for tests that signal the process mid-run.
pub fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("posekit starts")
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

// ---- Turns -------------------------------------------------------------------------

/// Readers (shared turns) and whether an exclusive turn is taken.
static TURNS: Mutex<(usize, bool)> = Mutex::new((0, false));
static TURN_CHANGED: Condvar = Condvar::new();

/// A turn at the machine. Every test that runs posekit holds a shared one (each
/// [`Sandbox`] takes one; serve tests take one with [`shared`]); the serve load test, which
/// measures latency, takes the exclusive one so that no other test's work shares the
/// cores while it runs. Shared turns never wait behind an exclusive turn that is only
/// waiting, so a test may hold several; the exclusive one waits until none is held.
pub struct Turn {
    exclusive: bool,
}

pub fn shared() -> Turn {
    let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    while turns.1 {
        turns = TURN_CHANGED.wait(turns).unwrap_or_else(|e| e.into_inner());
    }
    turns.0 += 1;
    Turn { exclusive: false }
}

/// The machine alone. The holder must take no shared turn (no [`Sandbox`]) meanwhile.
pub fn exclusive() -> Turn {
    let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    while turns.1 || turns.0 > 0 {
        turns = TURN_CHANGED.wait(turns).unwrap_or_else(|e| e.into_inner());
    }
    turns.1 = true;
    Turn { exclusive: true }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        if self.exclusive {
            turns.1 = false;
        } else {
            turns.0 -= 1;
        }
        TURN_CHANGED.notify_all();
    }
}
