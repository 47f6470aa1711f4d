//! The machine, read once into plain data: [`SystemFacts`].
//!
//! This is the only module that probes `/proc`, the environment, Windows through WSL
//! interop, sockets, ONNX Runtime and the GPU. Everything that decides what those facts
//! mean (`doctor`, `tune`) is a pure function of a `SystemFacts`, so each case is a unit
//! test with a hand-made value. Every probe that can block has a deadline, and a probe
//! that misses it is recorded as [`Probe::TimedOut`] rather than waited for.

pub mod command;
pub mod cores;
pub mod ffmpeg;
mod gather;
pub mod gpu;
pub mod gpu_runtime;
pub mod onnx_size;
pub mod peak_memory;
pub mod platform;
pub mod resources;
pub mod service;
pub mod wsl;
pub mod wslconfig;

use std::path::PathBuf;
use std::time::Duration;

pub use gather::{gather, GatherOptions};

use crate::config::Config;
use crate::engine::probe::RuntimeInfo;
use crate::system::ffmpeg::FfmpegVersions;

/// The outcome of one probe that may be absent, fail or time out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe<T> {
    Found(T),
    /// Nothing to probe here (no `nvidia-smi`, not WSL, ...).
    Absent,
    /// The probe (a command line or a request) did not answer in time.
    TimedOut {
        probe: String,
        after: Duration,
    },
    Failed {
        probe: String,
        reason: String,
    },
}

impl<T> Probe<T> {
    pub fn timed_out(probe: &str, after: Duration) -> Self {
        Probe::TimedOut {
            probe: probe.to_string(),
            after,
        }
    }

    pub fn found(&self) -> Option<&T> {
        match self {
            Probe::Found(value) => Some(value),
            _ => None,
        }
    }
}

/// Everything `doctor` knows about the machine.
#[derive(Clone, Debug)]
pub struct SystemFacts {
    pub platform: platform::PlatformFacts,
    pub memory: resources::MemoryFacts,
    pub cpu: resources::CpuFacts,
    /// `.wslconfig` (WSL only; `Absent` elsewhere).
    pub wslconfig: Probe<WslConfigFile>,
    pub onnxruntime: RuntimeFacts,
    pub ffmpeg: FfmpegVersions,
    pub models: ModelFacts,
    pub config: ConfigFacts,
    /// NVIDIA devices from `nvidia-smi` (`Absent` when it is not installed).
    pub gpu: Probe<Vec<gpu::GpuDevice>>,
    /// The GPU build of ONNX Runtime and what its CUDA provider needs.
    pub gpu_runtime: gpu_runtime::GpuRuntimeFacts,
    pub service: service::ServiceFacts,
    pub disk: resources::DiskFacts,
}

/// Where `.wslconfig` is and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WslConfigFile {
    pub path: PathBuf,
    /// `None` when the file does not exist (WSL's defaults apply).
    pub config: Option<wslconfig::WslConfig>,
}

/// ONNX Runtime: where posekit looked, and what it found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeFacts {
    pub searched: Vec<PathBuf>,
    pub state: RuntimeState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeState {
    Loaded {
        library: PathBuf,
        info: RuntimeInfo,
    },
    NotFound,
    /// Found but unusable (wrong version, wrong architecture, missing dependencies).
    LoadFailed {
        reason: String,
    },
}

/// The models posekit would use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFacts {
    pub builtin: Vec<BuiltinModel>,
    pub configured: Vec<ConfiguredModel>,
}

/// A model built into the binary, with the sha256 its manifest promises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltinModel {
    pub name: String,
    pub bytes: u64,
    pub expected_sha256: Option<String>,
    pub actual_sha256: String,
}

/// A model named in `posekit.toml`'s `[models]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredModel {
    pub name: String,
    pub path: PathBuf,
    /// The model's size on disk, the external data it names included, or why it could
    /// not be read.
    pub bytes: Result<u64, String>,
}

/// `posekit.toml` and the settings in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFacts {
    /// Where the config would be (`None` when there is no home folder).
    pub path: Option<PathBuf>,
    /// `Ok(None)`: no file, defaults apply. `Err`: the file is broken.
    pub loaded: Result<Option<Config>, String>,
}

impl ConfigFacts {
    /// The config's settings, or none when it is missing or broken.
    pub fn settings(&self) -> Config {
        self.loaded.clone().ok().flatten().unwrap_or_default()
    }
}
