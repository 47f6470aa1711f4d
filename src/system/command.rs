//! Running an outside program (`wsl.exe`, `cmd.exe`, `nvidia-smi`) with a deadline.
//!
//! Interop programs can hang for seconds while Windows wakes up, so no probe waits on a
//! child without a timeout. The child's output is read on helper threads (a full pipe
//! would otherwise block it) while this thread polls `try_wait` until the deadline,
//! then kills the child. No crate is needed for something this small.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often the waiting thread looks at the child. Short, so a fast program costs
/// little more than its own run time.
const POLL: Duration = Duration::from_millis(5);

/// What running a probe program gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Run {
    /// It ran to the end (successfully or not).
    Finished {
        success: bool,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    /// The program does not exist (or could not be started).
    NotFound,
    /// It was still running at the deadline and was killed.
    TimedOut,
}

impl Run {
    /// Standard output when the program exited successfully.
    pub fn success_stdout(&self) -> Option<&[u8]> {
        match self {
            Run::Finished {
                success: true,
                stdout,
                ..
            } => Some(stdout),
            _ => None,
        }
    }
}

/// Runs `program args...` with no standard input and kills it after `timeout`.
pub fn run_with_timeout(
    program: &Path,
    args: &[&str],
    cwd: Option<&Path>,
    timeout: Duration,
) -> Run {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let Ok(mut child) = command.spawn() else {
        return Run::NotFound;
    };
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    match wait_until(&mut child, Instant::now() + timeout) {
        Some(success) => Run::Finished {
            success,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        },
        None => {
            // Kill and reap so no zombie is left; the reader threads end when the pipes
            // close. A grandchild holding the pipe would keep them alive, so they are
            // detached rather than joined.
            let _ = child.kill();
            let _ = child.wait();
            Run::TimedOut
        }
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buffer = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buffer);
        }
        buffer
    })
}

/// `Some(exit success)` once the child exits, `None` at the deadline.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<bool> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status.success()),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(POLL),
            Err(_) => return Some(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_program_gives_its_output() {
        let run = run_with_timeout(
            Path::new("sh"),
            &["-c", "echo out; echo err >&2"],
            None,
            Duration::from_secs(5),
        );
        assert_eq!(
            run,
            Run::Finished {
                success: true,
                stdout: b"out\n".to_vec(),
                stderr: b"err\n".to_vec()
            }
        );
    }

    #[test]
    fn failing_program_is_finished_without_success() {
        let run = run_with_timeout(Path::new("false"), &[], None, Duration::from_secs(5));
        assert!(matches!(run, Run::Finished { success: false, .. }));
        assert_eq!(run.success_stdout(), None);
    }

    #[test]
    fn missing_program_is_not_found() {
        let run = run_with_timeout(
            Path::new("/nonexistent/wsl.exe"),
            &["--version"],
            None,
            Duration::from_secs(1),
        );
        assert_eq!(run, Run::NotFound);
    }

    #[test]
    fn hanging_program_is_killed_at_the_deadline() {
        // The shell writes its PID, then becomes `sleep`: after the deadline that process
        // must be gone (killed and reaped), not left running.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > '{}'; exec sleep 10", pid_file.display());
        let run = run_with_timeout(
            Path::new("sh"),
            &["-c", &script],
            None,
            Duration::from_millis(500),
        );
        assert_eq!(run, Run::TimedOut);
        let pid: libc::pid_t = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        let exists = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!exists, "the timed-out program still runs");
    }
}
