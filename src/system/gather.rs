//! Reading every fact once, with the slow probes side by side.
//!
//! The probes are independent, so they run on scoped threads: the whole gathering takes
//! as long as the slowest probe (loading ONNX Runtime or hashing the models, a few tens
//! of milliseconds here; a Windows interop call under WSL), not their sum.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use super::{
    gpu, gpu_runtime, platform, resources, service, wsl, BuiltinModel, ConfigFacts,
    ConfiguredModel, ModelFacts, Probe, RuntimeFacts, RuntimeState, SystemFacts, WslConfigFile,
};
use crate::config::{self, DEFAULT_SERVE_PORT};
use crate::engine::{candidate_paths, sha256_hex, Engine, EngineError, ModelSource, RuntimeSearch};
use crate::media::versions::ffmpeg_versions;
use crate::models::builtin;

/// The built-in models' manifest, for the sha256 each embedded model must have.
const MANIFEST: &str = include_str!("../../models/manifest.json");

/// What the user asked `doctor` to look at.
#[derive(Clone, Debug)]
pub struct GatherOptions {
    pub ort_lib: Option<PathBuf>,
    /// `--host`; default 127.0.0.1.
    pub host: Option<String>,
    /// `--port`; default the config's `[serve] port`, then 5000.
    pub port: Option<u16>,
    /// Where outputs go.
    pub output_dir: PathBuf,
    /// The config file to read (`None`: no home folder, so no config).
    pub config_path: Option<PathBuf>,
    /// Deadline for each probe that crosses a process or network boundary.
    pub timeout: Duration,
}

/// Reads the whole machine.
pub fn gather(options: &GatherOptions) -> SystemFacts {
    let config = read_config(options.config_path.as_deref());
    let settings = config.settings();
    let expected =
        options.port.is_some() || options.host.is_some() || settings.serve_port.is_some();
    let host = options.host.clone().unwrap_or_else(|| "127.0.0.1".into());
    let port = options
        .port
        .or(settings.serve_port)
        .unwrap_or(DEFAULT_SERVE_PORT);
    let timeout = options.timeout;
    thread::scope(|s| {
        let platform = s.spawn(|| platform::gather(timeout));
        // The GPU facts follow the runtime: registering CUDA needs it loaded.
        let onnxruntime = s.spawn(|| {
            let facts = runtime(options.ort_lib.clone());
            let gpu = gpu_runtime::gather(Engine::loaded(), &builtin::DETECTOR, timeout);
            (facts, gpu)
        });
        let models = s.spawn(|| models(&settings.models));
        let gpu = s.spawn(|| gpu::probe(timeout));
        let service = s.spawn(|| service::probe(&host, port, expected, timeout));
        let platform = platform.join().expect("platform probe");
        let onnxruntime = onnxruntime.join().expect("runtime probe");
        let wslconfig = match &platform.windows {
            Probe::Found(env) => wslconfig(&env.user_profile, timeout),
            Probe::Absent => Probe::Absent,
            Probe::TimedOut { probe, after } => Probe::TimedOut {
                probe: probe.clone(),
                after: *after,
            },
            Probe::Failed { probe, reason } => Probe::Failed {
                probe: probe.clone(),
                reason: reason.clone(),
            },
        };
        SystemFacts {
            platform,
            memory: resources::memory(),
            cpu: resources::cpu(),
            wslconfig,
            onnxruntime: onnxruntime.0,
            gpu_runtime: onnxruntime.1,
            ffmpeg: ffmpeg_versions(),
            models: models.join().expect("model probe"),
            config,
            gpu: gpu.join().expect("gpu probe"),
            service: service.join().expect("service probe"),
            disk: resources::disk(&options.output_dir, timeout),
        }
    })
}

fn read_config(path: Option<&Path>) -> ConfigFacts {
    ConfigFacts {
        path: path.map(Path::to_path_buf),
        loaded: match path {
            Some(path) => config::load(path).map_err(|e| e.to_string()),
            None => Ok(None),
        },
    }
}

fn wslconfig(user_profile: &str, timeout: Duration) -> Probe<WslConfigFile> {
    match wsl::wslconfig_path(user_profile, timeout) {
        Probe::Found(path) => match std::fs::read(&path) {
            Ok(bytes) => {
                // Notepad may save UTF-16; WSL reads both.
                let text = wsl::decode_console(&bytes);
                Probe::Found(WslConfigFile {
                    config: Some(super::wslconfig::parse(&text)),
                    path,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Probe::Found(WslConfigFile { path, config: None })
            }
            Err(e) => Probe::Failed {
                probe: format!("reading {}", path.display()),
                reason: e.to_string(),
            },
        },
        Probe::Absent => Probe::Absent,
        Probe::TimedOut { probe, after } => Probe::TimedOut { probe, after },
        Probe::Failed { probe, reason } => Probe::Failed { probe, reason },
    }
}

/// The runtime as a run that may use the GPU finds it (the GPU build first).
fn runtime(explicit: Option<PathBuf>) -> RuntimeFacts {
    let search = RuntimeSearch::from_environment(explicit).preferring_gpu(true);
    let searched = candidate_paths(&search);
    let state = match Engine::load(&search) {
        Ok(engine) => RuntimeState::Loaded {
            library: engine.library.clone(),
            info: engine.runtime_info(),
        },
        Err(EngineError::RuntimeNotFound { .. }) => RuntimeState::NotFound,
        Err(e) => RuntimeState::LoadFailed {
            reason: e.to_string(),
        },
    };
    RuntimeFacts { searched, state }
}

fn models(configured: &std::collections::BTreeMap<String, PathBuf>) -> ModelFacts {
    let manifest: serde_json::Value = serde_json::from_str(MANIFEST).unwrap_or_default();
    let expected = |file: &str| {
        manifest["models"]
            .as_array()?
            .iter()
            .find(|m| m["file"] == file)?["sha256"]
            .as_str()
            .map(str::to_string)
    };
    let builtin = [
        builtin::DETECTOR,
        builtin::LANDMARKS,
        builtin::PERSON_DETECTOR,
    ]
    .iter()
    .filter_map(|source| match source {
        ModelSource::Embedded { name, bytes } => Some(BuiltinModel {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            expected_sha256: expected(name),
            actual_sha256: sha256_hex(bytes),
        }),
        ModelSource::File(_) => None,
    })
    .collect();
    let configured = configured
        .iter()
        .map(|(name, path)| ConfiguredModel {
            name: name.clone(),
            path: path.clone(),
            // The .onnx and the external data it names: a 2.7 GB model keeps
            // nearly all its bytes beside the .onnx.
            bytes: match std::fs::metadata(path) {
                Ok(m) if !m.is_file() => Err("not a file".into()),
                Ok(_) => super::onnx_size::model_bytes(path).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
        })
        .collect();
    ModelFacts {
        builtin,
        configured,
    }
}
