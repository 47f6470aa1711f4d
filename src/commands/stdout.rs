//! Data for machines and people goes to stdout through here, so that a reader that went
//! away (`posekit process a b --json | head -1`, `doctor` piped into a pager that quit)
//! stops the printing, never the work, and never changes the exit code.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout is found closed; later prints are skipped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` and flushes it. A closed stdout is not an error; any other write error
/// (a full disk behind a redirect) is.
pub fn print(text: &str) -> std::io::Result<()> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// [`print`] with a newline.
pub fn print_line(line: &str) -> std::io::Result<()> {
    print(&format!("{line}\n"))
}
