//! Editing `.wslconfig` line by line, so that every byte `tune` does not mean to change
//! stays as the user wrote it: comments (`#` and `;`), blank lines, unknown keys, key
//! spelling and case, section order, a BOM, CRLF or LF, and a missing final newline.
//!
//! `.wslconfig` is INI, not TOML, and WSL matches section and key names without regard to
//! case. Where a key appears more than once (also in a repeated `[wsl2]` section) WSL
//! applies the lines in file order, so the **last** one is in force: that is the line
//! edited, because changing an earlier one would be silently overridden. A key that is
//! missing goes after the last entry of the last section of that name (any position in
//! any copy of the section would be equivalent to WSL; the last keeps it beside the value
//! in force for the other keys). A section that is missing is appended at the end.
//!
//! Anything this module cannot classify for certain (a line that is neither blank, a
//! comment, a `[section]` nor `key=value`) makes it refuse, naming the line, because an
//! edit in a file it misreads could land in the wrong section.

use std::fmt;

/// One value to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set<'a> {
    pub section: &'a str,
    pub key: &'a str,
    pub value: &'a str,
}

/// Why a file was left alone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}: {text:?}; posekit changes nothing in a file it cannot read for certain. Fix or remove that line and run tune again")]
pub struct Unparseable {
    /// 1-based.
    pub line: usize,
    pub text: String,
    pub reason: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Section,
    Entry,
}

/// One line with its terminator, and what it is.
struct Line<'t> {
    raw: &'t str,
    kind: Kind,
    /// The section the line is in (a header is in its own section).
    section: String,
    /// The key as written, for entries.
    key: String,
}

impl fmt::Debug for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:?}", self.kind, self.raw)
    }
}

fn content(raw: &str) -> &str {
    raw.trim_end_matches(['\n', '\r'])
}

fn split(text: &str) -> Result<Vec<Line<'_>>, Unparseable> {
    let mut lines = Vec::new();
    let mut section = String::new();
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let trimmed = content(raw).trim_start_matches('\u{feff}').trim();
        let refuse = |reason| Unparseable {
            line: index + 1,
            text: trimmed.to_string(),
            reason,
        };
        let mut key = String::new();
        let kind = if trimmed.is_empty() {
            Kind::Blank
        } else if trimmed.starts_with('#') || trimmed.starts_with(';') {
            Kind::Comment
        } else if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| refuse("a section header without its closing ]"))?;
            if name.contains(['[', ']']) || name.trim().is_empty() {
                return Err(refuse("not a valid [section] name"));
            }
            section = name.trim().to_string();
            Kind::Section
        } else if let Some((k, _)) = trimmed.split_once('=') {
            if k.trim().is_empty() {
                return Err(refuse("a value without a key"));
            }
            key = k.trim().to_string();
            Kind::Entry
        } else {
            return Err(refuse("neither a comment, a [section] nor key=value"));
        };
        lines.push(Line {
            raw,
            kind,
            section: section.clone(),
            key,
        });
    }
    Ok(lines)
}

/// Checks that every line can be read for certain.
pub fn check(text: &str) -> Result<(), Unparseable> {
    split(text).map(|_| ())
}

/// The file's line ending: CRLF if its first line has one, else LF.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        Some(_) => "\n",
        None => "\n",
    }
}

/// Applies `sets` in order; lines that none of them touch come back byte-identical.
pub fn apply(text: &str, sets: &[Set]) -> Result<String, Unparseable> {
    let mut text = text.to_string();
    for set in sets {
        text = apply_one(&text, set)?;
    }
    Ok(text)
}

fn apply_one(text: &str, set: &Set) -> Result<String, Unparseable> {
    let lines = split(text)?;
    let eol = line_ending(text);
    let in_section = |l: &Line| l.section.eq_ignore_ascii_case(set.section);
    let mut out: Vec<String> = lines.iter().map(|l| l.raw.to_string()).collect();
    if let Some(i) = lines.iter().rposition(|l| {
        l.kind == Kind::Entry && in_section(l) && l.key.eq_ignore_ascii_case(set.key)
    }) {
        out[i] = replace_value(lines[i].raw, set.value);
        return Ok(out.concat());
    }
    let new_line = format!("{}={}{eol}", set.key, set.value);
    if let Some(header) = lines
        .iter()
        .rposition(|l| l.kind == Kind::Section && in_section(l))
    {
        let last_entry = (header + 1..lines.len())
            .take_while(|&i| lines[i].kind != Kind::Section)
            .filter(|&i| lines[i].kind == Kind::Entry)
            .last()
            .unwrap_or(header);
        if !out[last_entry].ends_with('\n') {
            out[last_entry].push_str(eol);
        }
        out.insert(last_entry + 1, new_line);
        return Ok(out.concat());
    }
    let mut text = text.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push_str(eol);
    }
    let last_blank = lines.last().is_none_or(|l| l.kind == Kind::Blank);
    if !last_blank {
        text.push_str(eol);
    }
    text.push_str(&format!("[{}]{eol}{new_line}", set.section));
    Ok(text)
}

/// `  Memory = 8GB   # mine\r\n` with 12GB → `  Memory = 12GB   # mine\r\n`: only the
/// value's characters change. A `#` starts a trailing comment, as WSL and doctor read it.
fn replace_value(raw: &str, value: &str) -> String {
    let body = content(raw);
    let ending = &raw[body.len()..];
    let eq = body.find('=').expect("an entry has =");
    let after = &body[eq + 1..];
    let start = eq + 1 + (after.len() - after.trim_start().len());
    let comment = body[start..].find('#').map_or(body.len(), |i| start + i);
    let end = start + body[start..comment].trim_end().len();
    format!("{}{value}{}{ending}", &body[..start], &body[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(section: &'a str, key: &'a str, value: &'a str) -> Set<'a> {
        Set {
            section,
            key,
            value,
        }
    }

    #[test]
    fn value_is_replaced_in_place_keeping_spacing_comment_and_crlf() {
        let text = "[wsl2]\r\n  Memory = 8GB   # mine\r\nprocessors=4\r\n";
        let out = apply(text, &[set("wsl2", "memory", "12GB")]).unwrap();
        assert_eq!(
            out,
            "[wsl2]\r\n  Memory = 12GB   # mine\r\nprocessors=4\r\n"
        );
    }

    #[test]
    fn the_last_of_duplicate_keys_and_sections_is_edited() {
        let text = "[wsl2]\nmemory=4GB\n[WSL2]\nMEMORY=6GB\n[experimental]\n";
        let out = apply(text, &[set("wsl2", "memory", "12GB")]).unwrap();
        assert_eq!(
            out,
            "[wsl2]\nmemory=4GB\n[WSL2]\nMEMORY=12GB\n[experimental]\n"
        );
    }

    #[test]
    fn a_missing_key_goes_after_the_last_entry_of_the_last_such_section() {
        let text =
            "[wsl2]\nswap=1GB\n\n# network\n[wsl2]\nprocessors=4\n\n; later\n[experimental]\n";
        let out = apply(text, &[set("wsl2", "memory", "12GB")]).unwrap();
        assert_eq!(
            out,
            "[wsl2]\nswap=1GB\n\n# network\n[wsl2]\nprocessors=4\nmemory=12GB\n\n; later\n[experimental]\n"
        );
    }

    #[test]
    fn a_missing_section_is_appended_and_a_missing_final_newline_added() {
        let out = apply(
            "[wsl2]\r\nmemory=8GB",
            &[set("experimental", "autoMemoryReclaim", "gradual")],
        )
        .unwrap();
        assert_eq!(
            out,
            "[wsl2]\r\nmemory=8GB\r\n\r\n[experimental]\r\nautoMemoryReclaim=gradual\r\n"
        );
        let out = apply("[wsl2]", &[set("wsl2", "memory", "8GB")]).unwrap();
        assert_eq!(out, "[wsl2]\nmemory=8GB\n");
    }

    #[test]
    fn empty_file_gets_the_section() {
        let out = apply(
            "",
            &[set("wsl2", "memory", "8GB"), set("wsl2", "swap", "2GB")],
        )
        .unwrap();
        assert_eq!(out, "[wsl2]\nmemory=8GB\nswap=2GB\n");
    }

    #[test]
    fn keys_before_any_section_are_not_wsl2() {
        let out = apply("memory=2GB\n[wsl2]\n", &[set("wsl2", "memory", "8GB")]).unwrap();
        assert_eq!(out, "memory=2GB\n[wsl2]\nmemory=8GB\n");
    }

    #[test]
    fn a_bom_is_kept_and_not_part_of_the_header() {
        let out = apply(
            "\u{feff}[wsl2]\nmemory=4GB\n",
            &[set("wsl2", "memory", "8GB")],
        )
        .unwrap();
        assert_eq!(out, "\u{feff}[wsl2]\nmemory=8GB\n");
    }

    #[test]
    fn unreadable_lines_are_refused_with_their_number() {
        for (text, line) in [
            ("[wsl2]\nmemory 8GB\n", 2),
            ("# ok\n[wsl2\nmemory=8GB\n", 2),
            ("[wsl2]\n=8GB\n", 2),
            ("[]\n", 1),
        ] {
            let err = apply(text, &[set("wsl2", "memory", "8GB")]).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(
                err.to_string().starts_with(&format!("line {line}:")),
                "{err}"
            );
        }
    }

    #[test]
    fn line_endings() {
        assert_eq!(line_ending("a\r\nb\n"), "\r\n");
        assert_eq!(line_ending("a\nb"), "\n");
        assert_eq!(line_ending(""), "\n");
    }
}
