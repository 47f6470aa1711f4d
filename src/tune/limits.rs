//! The largest worker layout posekit accepts, decided from the core count alone (pure).
//!
//! Each worker holds its own models' buffers and frames in flight, and each ONNX Runtime
//! thread its own scratch, so a layout far past the cores buys no speed and grows memory
//! until the machine suffers (`--workers 4294967297` was accepted once). Four threads
//! per logical core leaves room for deliberate oversubscription, which `bench` may want
//! to measure, and stops typos and runaway values.

/// Threads (workers × threads per worker) allowed per logical core.
pub const THREADS_PER_CORE_LIMIT: usize = 4;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name} asks for {workers} worker(s) × {threads} thread(s) = {total} threads, more than posekit runs on this machine: at most {limit} ({THREADS_PER_CORE_LIMIT} × its {cores} logical cores), because each worker holds its own buffers and frames, so past the cores memory grows and speed does not.\nFix: use at most {limit} threads in all; `posekit tune` suggests a layout for this machine")]
pub struct LayoutTooLarge {
    pub source_name: String,
    pub workers: usize,
    pub threads: usize,
    pub total: u128,
    pub limit: usize,
    pub cores: usize,
}

/// Refuses `workers × threads` past [`THREADS_PER_CORE_LIMIT`] per core. `source_name`
/// says where the numbers came from (`--workers`, `[process] workers in posekit.toml`).
pub fn check_layout(
    source_name: &str,
    workers: usize,
    threads: usize,
    cores: usize,
) -> Result<(), LayoutTooLarge> {
    let limit = THREADS_PER_CORE_LIMIT * cores.max(1);
    // u128: the product of two usize values cannot overflow it.
    let total = workers as u128 * threads as u128;
    if total <= limit as u128 {
        return Ok(());
    }
    Err(LayoutTooLarge {
        source_name: source_name.to_string(),
        workers,
        threads,
        total,
        limit,
        cores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_four_threads_per_core_pass() {
        assert_eq!(check_layout("--workers", 8, 1, 2), Ok(()));
        assert_eq!(check_layout("--workers", 2, 4, 2), Ok(()));
    }

    #[test]
    fn runaway_layouts_are_refused_with_the_bound() {
        let err = check_layout("--workers", 4_294_967_297, 1, 2).unwrap_err();
        assert_eq!(err.limit, 8);
        let text = err.to_string();
        assert!(
            text.contains("4294967297") && text.contains("at most 8"),
            "{text}"
        );
        let err = check_layout("[process] workers in posekit.toml", 100_000, 1, 16).unwrap_err();
        assert!(err.to_string().contains("posekit.toml"), "{err}");
        assert!(
            check_layout("x", usize::MAX, usize::MAX, 2).is_err(),
            "no overflow"
        );
    }
}
