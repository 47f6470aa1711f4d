//! Worker layouts: `W x T` = W worker threads, each running ONNX Runtime on T threads.

use std::fmt;
use std::str::FromStr;

/// One way to spend the cores: workers × ONNX Runtime threads per worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Layout {
    pub workers: usize,
    pub threads_per_worker: usize,
}

impl Layout {
    pub const BASELINE: Layout = Layout {
        workers: 1,
        threads_per_worker: 1,
    };

    /// Total inference threads.
    pub fn threads(&self) -> usize {
        self.workers * self.threads_per_worker
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.workers, self.threads_per_worker)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("layout {0:?} is not WORKERSxTHREADS (for example 2x1: two workers, one thread each)")]
    Syntax(String),
    #[error("layout {0:?}: workers and threads must be at least 1")]
    Zero(String),
    #[error("no layouts given")]
    Empty,
}

impl FromStr for Layout {
    type Err = LayoutError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let (w, t) = trimmed
            .split_once(['x', 'X', '×'])
            .ok_or_else(|| LayoutError::Syntax(trimmed.into()))?;
        let parse = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| LayoutError::Syntax(trimmed.into()))
        };
        let layout = Layout {
            workers: parse(w)?,
            threads_per_worker: parse(t)?,
        };
        if layout.workers == 0 || layout.threads_per_worker == 0 {
            return Err(LayoutError::Zero(trimmed.into()));
        }
        Ok(layout)
    }
}

/// `1x1,2x1,1x2` → layouts, duplicates removed, the 1×1 baseline always first.
pub fn parse_list(text: &str) -> Result<Vec<Layout>, LayoutError> {
    let parsed = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Layout>, _>>()?;
    if parsed.is_empty() {
        return Err(LayoutError::Empty);
    }
    Ok(with_baseline_first(parsed))
}

/// The layouts worth trying on `cores` logical cores: the 1×1 baseline, then every
/// split of each power of two up to the core count, and of the core count itself.
pub fn sensible_for(cores: usize) -> Vec<Layout> {
    let cores = cores.max(1);
    let mut totals: Vec<usize> = (0..)
        .map(|p| 1usize << p)
        .take_while(|&n| n <= cores)
        .collect();
    totals.push(cores);
    let mut layouts = Vec::new();
    for total in totals {
        for workers in (1..=total).filter(|w| total % w == 0) {
            layouts.push(Layout {
                workers,
                threads_per_worker: total / workers,
            });
        }
    }
    with_baseline_first(layouts)
}

fn with_baseline_first(layouts: Vec<Layout>) -> Vec<Layout> {
    let mut out = vec![Layout::BASELINE];
    for layout in layouts {
        if !out.contains(&layout) {
            out.push(layout);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(workers: usize, threads_per_worker: usize) -> Layout {
        Layout {
            workers,
            threads_per_worker,
        }
    }

    #[test]
    fn parses_lists_and_puts_the_baseline_first() {
        assert_eq!(
            parse_list("2x1, 1X2").unwrap(),
            vec![l(1, 1), l(2, 1), l(1, 2)]
        );
        assert_eq!(parse_list("1x1,2x1,2x1").unwrap(), vec![l(1, 1), l(2, 1)]);
        assert_eq!("4×2".parse::<Layout>().unwrap(), l(4, 2));
    }

    #[test]
    fn rejects_bad_layouts_clearly() {
        assert_eq!(parse_list(""), Err(LayoutError::Empty));
        assert_eq!("2".parse::<Layout>(), Err(LayoutError::Syntax("2".into())));
        assert_eq!(
            "ax1".parse::<Layout>(),
            Err(LayoutError::Syntax("ax1".into()))
        );
        assert_eq!(
            "0x1".parse::<Layout>(),
            Err(LayoutError::Zero("0x1".into()))
        );
        // The size bound is `tune::limits::check_layout`'s, the same for every command.
        assert!("64x64".parse::<Layout>().is_ok());
        let message = "2-1".parse::<Layout>().unwrap_err().to_string();
        assert!(message.contains("WORKERSxTHREADS"), "{message}");
    }

    #[test]
    fn sensible_layouts_for_two_and_six_cores() {
        assert_eq!(sensible_for(2), vec![l(1, 1), l(1, 2), l(2, 1)]);
        let six = sensible_for(6);
        assert_eq!(six[0], l(1, 1));
        for expected in [
            l(2, 1),
            l(1, 2),
            l(4, 1),
            l(2, 2),
            l(6, 1),
            l(3, 2),
            l(2, 3),
        ] {
            assert!(six.contains(&expected), "{expected} missing from {six:?}");
        }
        assert!(six.iter().all(|x| x.threads() <= 6));
        assert_eq!(sensible_for(1), vec![l(1, 1)]);
    }
}
