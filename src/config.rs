//! `posekit.toml`: the user's defaults, read from their config folder.
//!
//! Small on purpose: the keys `doctor` needs (`[process] workers`, `[models] NAME = PATH`,
//! `[serve] port`). `tune` extends it and writes it; `toml_edit` is used so that editing
//! keeps the user's comments and layout. A missing file is not an error: every key has a
//! default, applied where it is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item};

/// The pose service's port when neither the config nor `--port` names one.
pub const DEFAULT_SERVE_PORT: u16 = 5000;

/// What can be wrong with a config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {reason}")]
    Syntax { path: PathBuf, reason: String },
    #[error("{path}: {key} {reason}")]
    Value {
        path: PathBuf,
        key: String,
        reason: String,
    },
}

/// The settings a config file holds; `None` means "not set, use the default".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `[process] workers`.
    pub workers: Option<usize>,
    /// `[models]`: model name to ONNX file, relative paths resolved against the file's folder.
    pub models: BTreeMap<String, PathBuf>,
    /// `[serve] port`.
    pub serve_port: Option<u16>,
}

/// `$XDG_CONFIG_HOME/posekit/posekit.toml`, or `~/.config/posekit/posekit.toml`.
pub fn config_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty());
    let base = match xdg {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("posekit").join("posekit.toml"))
}

/// Reads the config at `path`; `Ok(None)` when there is no such file.
pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses config text; `path` names the file in errors and anchors relative model paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ConfigError::Syntax {
            path: path.to_path_buf(),
            reason: e.message().to_string(),
        })?;
    let value_err = |key: &str, reason: &str| ConfigError::Value {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason: reason.to_string(),
    };
    let mut config = Config::default();
    if let Some(item) = doc.get("process").and_then(|t| t.get("workers")) {
        let n = item
            .as_integer()
            .filter(|n| *n >= 1)
            .ok_or_else(|| value_err("[process] workers", "must be a whole number, 1 or more"))?;
        config.workers = Some(n as usize);
    }
    if let Some(item) = doc.get("serve").and_then(|t| t.get("port")) {
        let port = item
            .as_integer()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| value_err("[serve] port", "must be a port number, 1 to 65535"))?;
        config.serve_port = Some(port);
    }
    if let Some(models) = doc.get("models").and_then(Item::as_table_like) {
        let base = path.parent().unwrap_or(Path::new("."));
        for (name, item) in models.iter() {
            let file = item.as_str().ok_or_else(|| {
                value_err(&format!("[models] {name}"), "must be a path in quotes")
            })?;
            config.models.insert(name.to_string(), resolve(base, file));
        }
    }
    Ok(config)
}

/// `~/x` is the user's home; a relative path is relative to the config file's folder,
/// so a config means the same thing from any working directory.
fn resolve(base: &Path, file: &str) -> PathBuf {
    if let (Some(rest), Some(home)) = (file.strip_prefix("~/"), std::env::var_os("HOME")) {
        return PathBuf::from(home).join(rest);
    }
    base.join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/home/ana/.config/posekit/posekit.toml";

    #[test]
    fn every_key_doctor_reads() {
        let text = "# mine\n[process]\nworkers = 3\n\n[models]\nhmr2 = \"/models/hmr2.onnx\"\nlocal = \"m/x.onnx\"\n\n[serve]\nport = 8080\n";
        let config = parse(text, Path::new(FILE)).unwrap();
        assert_eq!(config.workers, Some(3));
        assert_eq!(config.serve_port, Some(8080));
        assert_eq!(config.models["hmr2"], PathBuf::from("/models/hmr2.onnx"));
        assert_eq!(
            config.models["local"],
            PathBuf::from("/home/ana/.config/posekit/m/x.onnx")
        );
    }

    #[test]
    fn empty_file_sets_nothing() {
        assert_eq!(parse("", Path::new(FILE)).unwrap(), Config::default());
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = parse("[process]\nworkers = 0\n", Path::new(FILE)).unwrap_err();
        assert!(err.to_string().contains("[process] workers"), "{err}");
        let err = parse("[serve]\nport = 70000\n", Path::new(FILE)).unwrap_err();
        assert!(err.to_string().contains("[serve] port"), "{err}");
        let err = parse("[models]\nhmr2 = 3\n", Path::new(FILE)).unwrap_err();
        assert!(err.to_string().contains("[models] hmr2"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = parse("[process\n", Path::new(FILE)).unwrap_err();
        assert!(err.to_string().starts_with(FILE), "{err}");
    }

    #[test]
    fn missing_file_is_no_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join("posekit.toml")).unwrap(), None);
    }
}
