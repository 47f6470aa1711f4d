//! This process's peak resident memory, from `/proc/self/status` (Linux).
//!
//! The kernel tracks the high-water mark (`VmHWM`); `process` reports it in its summary,
//! and `bench` compares it across worker layouts, each run in its own process.

/// Peak resident set size of this process in bytes, if the kernel reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

/// The `VmHWM:  123456 kB` line of a `/proc/PID/status` text, in bytes.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark_in_bytes() {
        let status = "Name:\tposekit\nVmPeak:\t  999 kB\nVmHWM:\t  262504 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(262_504 * 1024));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
    }

    #[test]
    fn this_process_has_a_peak() {
        assert!(peak_rss_bytes().unwrap_or(0) > 1024 * 1024);
    }
}
