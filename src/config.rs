//! `posekit.toml`: the user's defaults, read from their config folder.
//!
//! Small on purpose: `[process] workers`, `threads_per_worker` and `device`, `[models] NAME = PATH`,
//! `[serve] port`, and the best layouts `bench --save` measured, per machine and model
//! (`[bench."MACHINE"."MODEL"]`). `tune` and `bench --save` write it; `toml_edit` is used
//! so that editing keeps the user's comments and layout. A missing file is not an error:
//! every key has a default, applied where it is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{value, DocumentMut, Item, Table};

use crate::bench::layout::Layout;
use crate::engine::DeviceRequest;
use crate::files::{write_file, Written};

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
    /// Not a regular file, or it could not be written (`files`' rules).
    #[error(transparent)]
    File(#[from] crate::files::FileError),
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
    /// `[process] threads_per_worker`: ONNX Runtime threads inside each worker.
    pub threads_per_worker: Option<usize>,
    /// `[process] device`: where HMR2 runs (`auto`, `cpu`, `cuda`, `tensorrt`).
    pub device: Option<DeviceRequest>,
    /// `[bench."MACHINE"."MODEL"]`: the best layout `posekit bench --save` measured, by
    /// machine key (see `tune::machine`) and model key (`tune::ModelCost::key`).
    pub bench: BTreeMap<String, BTreeMap<String, SavedLayout>>,
}

/// A layout `bench` measured as the best on one machine for one model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SavedLayout {
    pub workers: usize,
    pub threads_per_worker: usize,
    /// Median frames per second of that layout.
    pub fps: f64,
    /// When it was measured (RFC 3339, UTC), as bench wrote it.
    pub measured: String,
}

// `fps` is never NaN: `parse` rejects it and bench never measures it, so equality is total.
impl Eq for SavedLayout {}

impl SavedLayout {
    #[cfg(test)]
    pub fn layout(&self) -> Layout {
        Layout {
            workers: self.workers,
            threads_per_worker: self.threads_per_worker,
        }
    }
}

/// The layout `bench --save` stored for this machine and model, if any.
pub fn saved_layout(config: &Config, machine_key: &str, model_key: &str) -> Option<SavedLayout> {
    config.bench.get(machine_key)?.get(model_key).cloned()
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
    // Reading a FIFO would block for ever and a device is no config: refuse both first.
    crate::files::resolve_for_writing(path)?;
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
    if let Some(item) = doc.get("process").and_then(|t| t.get("threads_per_worker")) {
        let n = item.as_integer().filter(|n| *n >= 1).ok_or_else(|| {
            value_err(
                "[process] threads_per_worker",
                "must be a whole number, 1 or more",
            )
        })?;
        config.threads_per_worker = Some(n as usize);
    }
    if let Some(item) = doc.get("process").and_then(|t| t.get("device")) {
        let device = item
            .as_str()
            .and_then(DeviceRequest::parse)
            .ok_or_else(|| {
                value_err(
                    "[process] device",
                    "must be one of \"auto\", \"cpu\", \"cuda\", \"tensorrt\"",
                )
            })?;
        config.device = Some(device);
    }
    if let Some(machines) = doc.get("bench").and_then(Item::as_table_like) {
        for (machine, models) in machines.iter() {
            let Some(models) = models.as_table_like() else {
                return Err(value_err(&format!("[bench] {machine}"), "must be a table"));
            };
            for (model, item) in models.iter() {
                let name = format!("[bench.\"{machine}\".\"{model}\"]");
                let saved = saved_from(item)
                    .ok_or_else(|| value_err(&name, "needs workers, threads_per_worker (whole numbers, 1 or more), fps (a number) and measured (a string)"))?;
                config
                    .bench
                    .entry(machine.to_string())
                    .or_default()
                    .insert(model.to_string(), saved);
            }
        }
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

fn saved_from(item: &Item) -> Option<SavedLayout> {
    let table = item.as_table_like()?;
    let count = |key| {
        table
            .get(key)?
            .as_integer()
            .filter(|n| *n >= 1)
            .map(|n| n as usize)
    };
    let fps = table.get("fps")?;
    let fps = fps
        .as_float()
        .or_else(|| fps.as_integer().map(|n| n as f64))
        .filter(|f| f.is_finite() && *f >= 0.0)?;
    Some(SavedLayout {
        workers: count("workers")?,
        threads_per_worker: count("threads_per_worker")?,
        fps,
        measured: table.get("measured")?.as_str()?.to_string(),
    })
}

/// Config text with `[process] workers` and `threads_per_worker` set to `layout`, every
/// other byte of the user's file kept (comments, order, other keys).
pub fn with_layout(text: &str, path: &Path, layout: Layout) -> Result<String, ConfigError> {
    let mut doc = document(text, path)?;
    let process = table_at(&mut doc, &["process"], path)?;
    set_count(process, "workers", layout.workers);
    set_count(process, "threads_per_worker", layout.threads_per_worker);
    Ok(doc.to_string())
}

/// Config text with `[bench."MACHINE"."MODEL"]` set to the measured layout.
pub fn with_bench_layout(
    text: &str,
    path: &Path,
    machine_key: &str,
    model_key: &str,
    saved: &SavedLayout,
) -> Result<String, ConfigError> {
    let mut doc = document(text, path)?;
    let table = table_at(&mut doc, &["bench", machine_key, model_key], path)?;
    set_count(table, "workers", saved.workers);
    set_count(table, "threads_per_worker", saved.threads_per_worker);
    // One decimal is what bench reports; more digits would be noise.
    table.insert("fps", value((saved.fps * 10.0).round() / 10.0));
    table.insert("measured", value(saved.measured.clone()));
    Ok(doc.to_string())
}

/// Stores `bench`'s best layout for this machine and model in the config at `path`
/// (created if missing), keeping the user's comments and other keys. The write is atomic,
/// and an existing file is first kept as a timestamped backup beside it.
pub fn save_bench_layout(
    path: &Path,
    machine_key: &str,
    model_key: &str,
    layout: Layout,
    fps: f64,
) -> Result<Written, ConfigError> {
    crate::files::resolve_for_writing(path)?;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let saved = SavedLayout {
        workers: layout.workers,
        threads_per_worker: layout.threads_per_worker,
        fps,
        measured: crate::files::utc_now_rfc3339(),
    };
    let new = with_bench_layout(&text, path, machine_key, model_key, &saved)?;
    Ok(write_file(path, new.as_bytes())?)
}

fn document(text: &str, path: &Path) -> Result<DocumentMut, ConfigError> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ConfigError::Syntax {
            path: path.to_path_buf(),
            reason: e.message().to_string(),
        })?;
    // Reading it back catches a value of the wrong type before anything is written.
    parse(text, path)?;
    Ok(doc)
}

/// The table at `keys`, created (as a `[header]` table) where missing. A key that holds
/// something else (`process = 3`) is an error naming it, never overwritten.
fn table_at<'d>(
    doc: &'d mut DocumentMut,
    keys: &[&str],
    path: &Path,
) -> Result<&'d mut dyn toml_edit::TableLike, ConfigError> {
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for (depth, key) in keys.iter().enumerate() {
        let item = table.entry(key).or_insert_with(|| {
            let mut new = Table::new();
            // Intermediate tables (`[bench]`) need no header of their own.
            new.set_implicit(depth + 1 < keys.len());
            Item::Table(new)
        });
        table = item.as_table_like_mut().ok_or_else(|| ConfigError::Value {
            path: path.to_path_buf(),
            key: keys[..=depth].join("."),
            reason: "is not a table, so posekit will not overwrite it".into(),
        })?;
    }
    Ok(table)
}

/// Sets an integer, keeping the old value's decoration (spacing, trailing comment).
fn set_count(table: &mut dyn toml_edit::TableLike, key: &str, n: usize) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) if old.as_integer() == Some(n as i64) => {}
        Some(old) => {
            let decor = old.decor().clone();
            *old = toml_edit::Value::from(n as i64);
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, value(n as i64));
        }
    }
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
    fn device_is_read_and_a_wrong_one_is_named() {
        let config = parse("[process]\ndevice = \"cuda\"\n", Path::new("p.toml")).unwrap();
        assert_eq!(config.device, Some(DeviceRequest::Cuda));
        let err = parse("[process]\ndevice = \"gpu\"\n", Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().contains("[process] device"), "{err}");
    }

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
    fn threads_and_saved_bench_layouts() {
        let text = "[process]\nthreads_per_worker = 2\n\n[bench.amd-epyc-2cpu-24gib.blazepose]\nworkers = 2\nthreads_per_worker = 1\nfps = 71.3\nmeasured = \"2026-11-27T15:30:12Z\"\n";
        let config = parse(text, Path::new(FILE)).unwrap();
        assert_eq!(config.threads_per_worker, Some(2));
        let saved = saved_layout(&config, "amd-epyc-2cpu-24gib", "blazepose").unwrap();
        assert_eq!(
            saved.layout(),
            Layout {
                workers: 2,
                threads_per_worker: 1
            }
        );
        assert_eq!(saved.fps, 71.3);
        assert_eq!(
            saved_layout(&config, "amd-epyc-2cpu-24gib", "blazepose+hmr2"),
            None
        );
        assert_eq!(saved_layout(&config, "other", "blazepose"), None);
        let err = parse("[bench.m.blazepose]\nworkers = 2\n", Path::new(FILE)).unwrap_err();
        assert!(
            err.to_string().contains("[bench.\"m\".\"blazepose\"]"),
            "{err}"
        );
    }

    const USER: &str = "# my posekit settings\n[process]\nworkers = 16 # too many?\n\n[models]\nhmr2 = \"/models/hmr2.onnx\" # the big one\n";

    #[test]
    fn with_layout_changes_only_the_layout() {
        let layout = Layout {
            workers: 4,
            threads_per_worker: 2,
        };
        let out = with_layout(USER, Path::new(FILE), layout).unwrap();
        assert_eq!(
            out,
            "# my posekit settings\n[process]\nworkers = 4 # too many?\nthreads_per_worker = 2\n\n[models]\nhmr2 = \"/models/hmr2.onnx\" # the big one\n"
        );
        assert_eq!(
            with_layout(&out, Path::new(FILE), layout).unwrap(),
            out,
            "idempotent"
        );
        assert_eq!(
            with_layout("", Path::new(FILE), layout).unwrap(),
            "[process]\nworkers = 4\nthreads_per_worker = 2\n"
        );
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_never_overwritten() {
        let layout = Layout {
            workers: 1,
            threads_per_worker: 1,
        };
        let err = with_layout("process = 3\n", Path::new(FILE), layout).unwrap_err();
        assert!(err.to_string().contains("process"), "{err}");
        let err = with_layout("[process]\nworkers = \"x\"\n", Path::new(FILE), layout).unwrap_err();
        assert!(err.to_string().contains("[process] workers"), "{err}");
    }

    #[test]
    fn save_bench_layout_keeps_the_rest_and_backs_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posekit.toml");
        std::fs::write(&path, USER).unwrap();
        let layout = Layout {
            workers: 2,
            threads_per_worker: 1,
        };
        let written =
            save_bench_layout(&path, "amd-epyc-2cpu-24gib", "blazepose", layout, 71.26).unwrap();
        let Written::Replaced { backup } = written else {
            panic!("{written:?}");
        };
        assert_eq!(std::fs::read_to_string(backup).unwrap(), USER);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(USER), "{text}");
        assert!(text.contains("[bench.amd-epyc-2cpu-24gib.blazepose]\nworkers = 2\nthreads_per_worker = 1\nfps = 71.3\n"), "{text}");
        let config = load(&path).unwrap().unwrap();
        assert_eq!(config.workers, Some(16), "the user's keys stay");
        let saved = saved_layout(&config, "amd-epyc-2cpu-24gib", "blazepose").unwrap();
        assert_eq!((saved.layout(), saved.fps), (layout, 71.3));
        assert!(saved.measured.ends_with('Z'));
    }

    #[test]
    fn missing_file_is_no_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join("posekit.toml")).unwrap(), None);
    }
}
