//! `.wslconfig` as WSL reads it: an INI file, not TOML (`memory=8GB` is bare).
//!
//! Parsing only, and pure, so `doctor` can report it and `tune` can edit it in place:
//! every entry keeps its line number, and keys keep the case the user wrote. WSL itself
//! matches section and key names case-insensitively, and so does [`WslConfig::get`].

/// One `key=value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Section name as written, without brackets (empty before the first section).
    pub section: String,
    pub key: String,
    pub value: String,
    /// 1-based line number in the file.
    pub line: usize,
}

/// A line WSL would not understand, kept so it can be reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub text: String,
}

/// Every entry and section of a `.wslconfig`, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WslConfig {
    pub entries: Vec<Entry>,
    /// `(name, line)` of each `[section]` header.
    pub sections: Vec<(String, usize)>,
    pub malformed: Vec<Malformed>,
}

impl WslConfig {
    /// The last value of `key` in `section` (WSL takes the last one), case-insensitively.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.section.eq_ignore_ascii_case(section) && e.key.eq_ignore_ascii_case(key))
    }

    /// `memory=` under `[wsl2]`, in bytes, when set and readable.
    pub fn memory_bytes(&self) -> Option<u64> {
        parse_size(&self.get("wsl2", "memory")?.value)
    }

    /// `processors=` under `[wsl2]`, when set and readable.
    pub fn processors(&self) -> Option<usize> {
        self.get("wsl2", "processors")?.value.trim().parse().ok()
    }

    /// `networkingMode=` under `[wsl2]`, lowercased (`nat` when unset).
    pub fn networking_mode(&self) -> String {
        self.get("wsl2", "networkingMode")
            .map(|e| e.value.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "nat".into())
    }
}

/// Reads `.wslconfig` text. Never fails: odd lines are collected in `malformed`.
pub fn parse(text: &str) -> WslConfig {
    let mut config = WslConfig::default();
    let mut section = String::new();
    // Windows editors often save with a BOM, which WSL tolerates.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.trim().to_string();
            config.sections.push((section.clone(), line));
        } else if let Some((key, value)) = trimmed.split_once('=') {
            config.entries.push(Entry {
                section: section.clone(),
                key: key.trim().to_string(),
                value: strip_comment(value).trim().to_string(),
                line,
            });
        } else {
            config.malformed.push(Malformed {
                line,
                text: trimmed.to_string(),
            });
        }
    }
    config
}

/// A trailing `# comment` after a value is not part of it.
fn strip_comment(value: &str) -> &str {
    value.split_once('#').map_or(value, |(before, _)| before)
}

/// A WSL size such as `8GB`, `512MB`, `4G` or a bare byte count, in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: f64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        "T" | "TB" => 1 << 40,
        _ => return None,
    };
    Some((number * multiplier as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITED: &str = "\u{feff}# my settings\r\n[wsl2]\r\nmemory=8GB\r\nprocessors = 4 # half\r\nnetworkingMode=mirrored\r\n\r\n[experimental]\r\nautoMemoryReclaim=gradual\r\n";

    #[test]
    fn limits_are_read_with_their_lines() {
        let config = parse(LIMITED);
        assert_eq!(config.memory_bytes(), Some(8 << 30));
        assert_eq!(config.processors(), Some(4));
        assert_eq!(config.networking_mode(), "mirrored");
        assert_eq!(config.get("WSL2", "MEMORY").unwrap().line, 3);
        assert_eq!(
            config
                .get("experimental", "autoMemoryReclaim")
                .unwrap()
                .value,
            "gradual"
        );
        assert_eq!(
            config.sections,
            vec![("wsl2".into(), 2), ("experimental".into(), 7)]
        );
        assert!(config.malformed.is_empty());
    }

    #[test]
    fn a_file_without_limits_sets_nothing() {
        let config = parse("[wsl2]\nguiApplications=false\n");
        assert_eq!(config.memory_bytes(), None);
        assert_eq!(config.processors(), None);
        assert_eq!(config.networking_mode(), "nat");
    }

    #[test]
    fn keys_outside_wsl2_do_not_count_and_the_last_value_wins() {
        let config = parse("[experimental]\nmemory=2GB\n[wsl2]\nmemory=1GB\nmemory=6GB\n");
        assert_eq!(config.memory_bytes(), Some(6 << 30));
    }

    #[test]
    fn odd_lines_are_kept_as_malformed() {
        let config = parse("[wsl2]\nmemory 8GB\n");
        assert_eq!(
            config.malformed,
            vec![Malformed {
                line: 2,
                text: "memory 8GB".into()
            }]
        );
    }

    #[test]
    fn sizes_in_wsl_units() {
        assert_eq!(parse_size("8GB"), Some(8 << 30));
        assert_eq!(parse_size("512MB"), Some(512 << 20));
        assert_eq!(parse_size("1.5GB"), Some(3 << 29));
        assert_eq!(parse_size("4g"), Some(4 << 30));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("8XB"), None);
    }
}
