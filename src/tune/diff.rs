//! Unified diffs of a file before and after `tune` would change it, as `diff -u` prints
//! them, so what `--write` will do can be read (and reviewed) before it is done.
//!
//! Files here are a few dozen lines, so the longest common subsequence by dynamic
//! programming is plenty; there is no need for a diff crate. Lines are compared with their
//! line endings, so a CRLF file shows as changed only where a line really changed; the
//! endings are not printed (`\r` would garble a terminal).

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// Past this many line pairs the table would be large; such a file is shown as replaced.
const MAX_CELLS: usize = 4_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// `--- old_label` / `+++ new_label` and the hunks; empty when the texts are equal.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = script(&a, &b);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    // (op, index in a, index in b) for each step of the edit script.
    let mut steps = Vec::with_capacity(ops.len());
    let (mut i, mut j) = (0, 0);
    for op in ops {
        steps.push((op, i, j));
        match op {
            Op::Same => (i, j) = (i + 1, j + 1),
            Op::Del => i += 1,
            Op::Add => j += 1,
        }
    }
    let changed: Vec<usize> = (0..steps.len())
        .filter(|&k| steps[k].0 != Op::Same)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(steps.len());
        let hunk = &steps[start..end];
        let (a_len, b_len) = hunk.iter().fold((0, 0), |(x, y), (op, _, _)| match op {
            Op::Same => (x + 1, y + 1),
            Op::Del => (x + 1, y),
            Op::Add => (x, y + 1),
        });
        let (_, a0, b0) = hunk[0];
        // diff -u numbers an empty range by the line before it.
        let from = |first: usize, len: usize| if len == 0 { first } else { first + 1 };
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            from(a0, a_len),
            from(b0, b_len)
        ));
        for &(op, i, j) in hunk {
            let (mark, line) = match op {
                Op::Same => (' ', a[i]),
                Op::Del => ('-', a[i]),
                Op::Add => ('+', b[j]),
            };
            out.push(mark);
            out.push_str(line.trim_end_matches(['\n', '\r']));
            out.push('\n');
            if !line.ends_with('\n') {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// The shortest edit script turning `a` into `b` (deletions before additions).
fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        let mut ops = vec![Op::Del; a.len()];
        ops.extend(vec![Op::Add; b.len()]);
        return ops;
    }
    // lcs[i][j]: longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push(Op::Same);
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(Op::Del);
            i += 1;
        } else {
            ops.push(Op::Add);
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\n", "a\n", "x", "y"), "");
    }

    #[test]
    fn one_changed_line_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified(old, new, "a/f", "b/f"),
            "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn new_file_and_missing_newline() {
        assert_eq!(
            unified("", "a\r\nb", "/dev/null", "f"),
            "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn distant_changes_make_two_hunks_and_near_ones_one() {
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let with = |changed: [usize; 2]| -> String {
            (1..=20)
                .map(|n| match changed.contains(&n) {
                    true => format!("changed {n}\n"),
                    false => format!("{n}\n"),
                })
                .collect()
        };
        assert_eq!(
            unified(&old, &with([2, 19]), "a", "b")
                .matches("@@ -")
                .count(),
            2
        );
        assert_eq!(
            unified(&old, &with([5, 9]), "a", "b")
                .matches("@@ -")
                .count(),
            1
        );
    }

    #[test]
    fn a_line_inserted_into_a_crlf_file() {
        let old = "[wsl2]\r\nmemory=8GB\r\n";
        let new = "[wsl2]\r\nmemory=8GB\r\nswap=2GB\r\n";
        assert_eq!(
            unified(old, new, "a", "b"),
            "--- a\n+++ b\n@@ -1,2 +1,3 @@\n [wsl2]\n memory=8GB\n+swap=2GB\n"
        );
    }
}
