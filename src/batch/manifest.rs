//! Manifest files: the list of inputs of a batch, as a user or a script writes it.
//!
//! Three forms, told apart by the file's extension:
//! - text (any other extension): one path per line; blank lines and lines starting with
//!   `#` are skipped, and a `#` after whitespace starts a comment;
//! - `.csv`: a header row with a `path` column and optionally an `output` column;
//! - `.jsonl` / `.ndjson`: one object per line with `"path"` and optionally `"output"`.
//!
//! Relative paths are read from the manifest's folder, so a manifest travels with its
//! data. Parsing is pure ([`parse`]); every error names its line.

use std::path::{Path, PathBuf};

/// One line of a manifest, paths exactly as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub path: PathBuf,
    pub output: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("{file}: cannot read it: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}:{line}: {reason}")]
    BadLine {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: lists no inputs.\nFix: put one video path per line (`#` starts a comment)")]
    Empty { file: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    JsonLines,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => Format::Csv,
            Some("jsonl") | Some("ndjson") => Format::JsonLines,
            _ => Format::Text,
        }
    }
}

/// Reads and parses a manifest file.
pub fn read(file: &Path) -> Result<Vec<Entry>, ManifestError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| ManifestError::Unreadable {
        file: shown.clone(),
        reason: e.to_string(),
    })?;
    parse(&text, Format::of(file), &shown)
}

/// Parses manifest text. `file` names it in errors.
pub fn parse(text: &str, format: Format, file: &str) -> Result<Vec<Entry>, ManifestError> {
    let entries = match format {
        Format::Text => parse_text(text, file)?,
        Format::Csv => parse_csv(text, file)?,
        Format::JsonLines => parse_json_lines(text, file)?,
    };
    if entries.is_empty() {
        return Err(ManifestError::Empty { file: file.into() });
    }
    Ok(entries)
}

fn bad(file: &str, line: usize, reason: impl Into<String>) -> ManifestError {
    ManifestError::BadLine {
        file: file.into(),
        line,
        reason: reason.into(),
    }
}

fn parse_text(text: &str, file: &str) -> Result<Vec<Entry>, ManifestError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = strip_comment(raw).trim();
        if content.is_empty() {
            continue;
        }
        if content.contains('\0') {
            return Err(bad(file, line, "a NUL byte in the path"));
        }
        entries.push(Entry {
            line,
            path: PathBuf::from(content),
            output: None,
        });
    }
    Ok(entries)
}

/// A `#` at the start or after whitespace starts a comment; `clip#2.mp4` keeps its `#`.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn parse_csv(text: &str, file: &str) -> Result<Vec<Entry>, ManifestError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad(file, 1, format!("unreadable header row: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let path_column = column("path").ok_or_else(|| {
        bad(
            file,
            1,
            format!(
                "the header row has no `path` column (it has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let output_column = column("output");
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            bad(file, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let path = record.get(path_column).unwrap_or_default();
        if path.is_empty() {
            return Err(bad(file, line, "the `path` column is empty"));
        }
        let output = output_column
            .and_then(|c| record.get(c))
            .filter(|o| !o.is_empty())
            .map(PathBuf::from);
        entries.push(Entry {
            line,
            path: PathBuf::from(path),
            output,
        });
    }
    Ok(entries)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    path: String,
    #[serde(default)]
    output: Option<String>,
}

fn parse_json_lines(text: &str, file: &str) -> Result<Vec<Entry>, ManifestError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let entry: JsonEntry = serde_json::from_str(raw).map_err(|e| {
            bad(
                file,
                line,
                format!("not an object with a \"path\" string ({e})"),
            )
        })?;
        if entry.path.is_empty() {
            return Err(bad(file, line, "\"path\" is empty"));
        }
        entries.push(Entry {
            line,
            path: PathBuf::from(entry.path),
            output: entry.output.filter(|o| !o.is_empty()).map(PathBuf::from),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(entries: &[Entry]) -> Vec<(usize, String)> {
        entries
            .iter()
            .map(|e| (e.line, e.path.display().to_string()))
            .collect()
    }

    #[test]
    fn text_skips_blanks_and_comments_and_keeps_hashes_inside_names() {
        let text = "# gait lab, day 1\n\na.mp4\n  sub/b.mp4   # the second\nclip#2.mp4\n";
        let entries = parse(text, Format::Text, "m.txt").unwrap();
        assert_eq!(
            paths(&entries),
            [
                (3, "a.mp4".into()),
                (4, "sub/b.mp4".into()),
                (5, "clip#2.mp4".into())
            ]
        );
    }

    #[test]
    fn an_empty_manifest_is_an_error() {
        assert_eq!(
            parse("# nothing\n\n", Format::Text, "m.txt"),
            Err(ManifestError::Empty {
                file: "m.txt".into()
            })
        );
    }

    #[test]
    fn csv_reads_path_and_output_columns() {
        let text = "id,path,output\n1,a.mp4,res/a.jsonl\n2, b.mp4 ,\n";
        let entries = parse(text, Format::Csv, "m.csv").unwrap();
        assert_eq!(paths(&entries), [(2, "a.mp4".into()), (3, "b.mp4".into())]);
        assert_eq!(entries[0].output, Some(PathBuf::from("res/a.jsonl")));
        assert_eq!(entries[1].output, None);
    }

    #[test]
    fn csv_errors_name_their_line() {
        let no_column = parse("file\na.mp4\n", Format::Csv, "m.csv").unwrap_err();
        assert!(no_column
            .to_string()
            .starts_with("m.csv:1: the header row has no `path`"));
        let ragged = parse("path,output\na.mp4,x\nb.mp4\n", Format::Csv, "m.csv").unwrap_err();
        assert!(ragged.to_string().starts_with("m.csv:3:"), "{ragged}");
        let empty = parse("path\n\"\"\n", Format::Csv, "m.csv").unwrap_err();
        assert!(empty.to_string().contains("empty"), "{empty}");
    }

    #[test]
    fn json_lines_read_objects_and_name_bad_lines() {
        let text = "{\"path\":\"a.mp4\"}\n\n{\"path\":\"b.mp4\",\"output\":\"b.jsonl\"}\n";
        let entries = parse(text, Format::JsonLines, "m.jsonl").unwrap();
        assert_eq!(paths(&entries), [(1, "a.mp4".into()), (3, "b.mp4".into())]);
        let bad = parse(
            "{\"path\":\"a.mp4\"}\n[1,2]\n",
            Format::JsonLines,
            "m.jsonl",
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .starts_with("m.jsonl:2: not an object"));
        let typo = parse("{\"pth\":\"a.mp4\"}\n", Format::JsonLines, "m.jsonl");
        assert!(typo.unwrap_err().to_string().starts_with("m.jsonl:1:"));
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::of(Path::new("list.CSV")), Format::Csv);
        assert_eq!(Format::of(Path::new("list.ndjson")), Format::JsonLines);
        assert_eq!(Format::of(Path::new("videos.txt")), Format::Text);
        assert_eq!(Format::of(Path::new("manifest")), Format::Text);
    }
}
