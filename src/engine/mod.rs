//! The engine: the only module that touches `ort`.
//!
//! It loads the ONNX Runtime shared library, builds sessions, and moves tensors in and
//! out. Models (`crate::models`) see only the [`Inference`] trait, so their pre- and
//! post-processing can be tested with a fake engine and no runtime at all.

pub mod device;
mod locate;
pub mod preload;
pub mod probe;
mod sharing;

pub use device::{Device, DeviceRequest, Placement};
pub use locate::{cache_dir, candidate_paths, data_dir, RuntimeSearch, GPU_RUNTIME_DIR};
pub use sharing::WeightSharing;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::{ArrayD, ArrayViewD};
use ort::environment::Environment;
use ort::ep::{self, ExecutionProviderDispatch};
use ort::session::builder::{GraphOptimizationLevel, PrepackedWeights};
use ort::session::Session;
use ort::value::TensorRef;
use sha2::{Digest, Sha256};

/// What can go wrong loading the runtime or a model, or running one.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "ONNX Runtime was not found (looked in: {searched}).\n\
         Fix: run `make setup` in the posekit checkout, which puts libonnxruntime.so in posekit's data \
         directory; or `pip install onnxruntime==1.31.1`; or pass --ort-lib PATH / set ORT_DYLIB_PATH \
         to a libonnxruntime.so of version 1.31 or newer"
    )]
    RuntimeNotFound { searched: String },
    #[error("could not load ONNX Runtime from {path}: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },
    #[error("could not read model {path}: {source}")]
    ModelRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{model} is not a usable ONNX model: {reason}")]
    ModelLoad { model: String, reason: String },
    #[error("{model}: {reason}")]
    Contract { model: String, reason: String },
    #[error("running {model} failed: {reason}")]
    Run { model: String, reason: String },
    /// An explicit `--device` that could not be used; the message carries the fix.
    #[error("{model}: {message}")]
    Device { model: String, message: String },
}

/// A tensor's name and shape as the model declares it; `-1` marks a dynamic axis.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<i64>,
}

/// What a loaded model is: where it came from, its tensor contract, its precision and
/// where it runs.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ModelInfo {
    /// Short name shown to users and written in output headers.
    pub name: String,
    /// sha256 of the ONNX bytes, hex.
    pub sha256: String,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// The weights' precision as the model's metadata states it (`precision` in its
    /// metadata_props: `fp32`, `fp16`, `int8`), `None` when it does not say.
    pub precision: Option<String>,
    /// Where the session runs.
    pub device: Device,
}

/// A model's outputs, in the order the model declares them.
#[derive(Debug, Default)]
pub struct Outputs {
    pub names: Vec<String>,
    pub arrays: Vec<ArrayD<f32>>,
}

impl Outputs {
    /// The output called `name`, or a contract error naming the model.
    pub fn get(&self, model: &str, name: &str) -> Result<&ArrayD<f32>, EngineError> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.arrays[i])
            .ok_or_else(|| EngineError::Contract {
                model: model.to_string(),
                reason: format!("has no output named {name:?} (it has {:?})", self.names),
            })
    }
}

/// The seam between models and the runtime: one input tensor in, named outputs out.
///
/// `&mut self` because an ort session runs with `&mut` in rc.15; every worker owns its own.
pub trait Inference: Send {
    fn info(&self) -> &ModelInfo;
    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError>;
}

/// Where the model bytes come from.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// Built into the binary.
    Embedded {
        name: &'static str,
        bytes: &'static [u8],
    },
    /// A user's file.
    File(PathBuf),
}

impl ModelSource {
    fn load_bytes(&self) -> Result<(String, std::borrow::Cow<'static, [u8]>), EngineError> {
        match self {
            ModelSource::Embedded { name, bytes } => Ok((name.to_string(), (*bytes).into())),
            ModelSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| EngineError::ModelRead {
                    path: path.clone(),
                    source,
                })?;
                Ok((path.display().to_string(), bytes.into()))
            }
        }
    }
}

/// The loaded runtime. Created once per process; sessions borrow its environment.
pub struct Engine {
    env: Environment,
    /// Where the shared library was loaded from.
    pub library: PathBuf,
}

static ENGINE: OnceLock<Engine> = OnceLock::new();

impl Engine {
    /// Finds and loads ONNX Runtime once for the whole process.
    ///
    /// ort panics on first use when no library was loaded, so every path into ort goes
    /// through here first and turns "not found" into a clear error instead.
    pub fn load(search: &RuntimeSearch) -> Result<&'static Engine, EngineError> {
        if let Some(engine) = ENGINE.get() {
            return Ok(engine);
        }
        let candidates = candidate_paths(search);
        let library = candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| EngineError::RuntimeNotFound {
                searched: describe_candidates(&candidates),
            })?;
        let env = load_environment(&library)?;
        Ok(ENGINE.get_or_init(|| Engine { env, library }))
    }

    /// The runtime, if this process has loaded it.
    pub fn loaded() -> Option<&'static Engine> {
        ENGINE.get()
    }

    /// A CPU session for `source` with `threads` intra-op threads.
    pub fn session(&self, source: &ModelSource, threads: usize) -> Result<OrtModel, EngineError> {
        self.session_with(source, threads, None, &Placement::cpu())
    }

    /// A session placed as `placement` asks (see `engine::device`): on the GPU when its
    /// provider registers; an explicit GPU that does not is an error, `auto` says on
    /// stderr that it runs on the CPU, and why.
    pub fn session_on(
        &self,
        source: &ModelSource,
        threads: usize,
        placement: &Placement,
    ) -> Result<OrtModel, EngineError> {
        self.session_with(source, threads, None, placement)
    }

    /// A session, optionally drawing its prepacked weights from (and adding them to) a
    /// container shared with other sessions of the same model.
    fn session_with(
        &self,
        source: &ModelSource,
        threads: usize,
        prepacked: Option<&PrepackedWeights>,
        placement: &Placement,
    ) -> Result<OrtModel, EngineError> {
        let (name, bytes) = source.load_bytes()?;
        let sha256 = match source {
            ModelSource::Embedded { bytes, .. } => embedded_sha256(bytes),
            ModelSource::File(_) => sha256_hex(&bytes),
        };
        let on_cpu = || {
            self.commit(source, &bytes, threads, prepacked, &[])
                .map_err(|reason| EngineError::ModelLoad {
                    model: name.clone(),
                    reason,
                })
        };
        let wanted = device::plan(placement.request);
        let available = self.runtime_info().providers;
        let gpu = match wanted.is_gpu() {
            // A CPU-only build cannot register the provider: nothing to preload or try.
            true if !available.iter().any(|p| p == wanted.provider()) => {
                Some(Err("not in this build".to_string()))
            }
            true => Some(
                self.prepare_gpu(wanted, &sha256, placement)
                    .and_then(|providers| {
                        self.commit(source, &bytes, threads, prepacked, &providers)
                    }),
            ),
            false => None,
        };
        let (session, device) = match gpu {
            None => (on_cpu()?, Device::Cpu),
            Some(Ok(session)) => (session, wanted),
            Some(Err(reason)) => {
                let failure = device::Failure {
                    tried: wanted,
                    reason,
                    available,
                    library: self.library.clone(),
                };
                let note =
                    device::after_failure(placement.request, &failure).map_err(|message| {
                        EngineError::Device {
                            model: short_name(&name),
                            message,
                        }
                    })?;
                eprintln!("posekit: {}: {note}", short_name(&name));
                (on_cpu()?, Device::Cpu)
            }
        };
        let precision = session.metadata().ok().and_then(|m| m.custom("precision"));
        let info = ModelInfo {
            name: short_name(&name),
            sha256,
            inputs: session.inputs().iter().map(tensor_info).collect(),
            outputs: session.outputs().iter().map(tensor_info).collect(),
            precision,
            device,
        };
        let timing_first_run = device == Device::TensorRt;
        Ok(OrtModel {
            session,
            info,
            timing_first_run,
        })
    }

    /// Builds and commits one session with `providers` registered (none: the CPU), each
    /// with `error_on_failure`, so a provider that cannot be used is an error here rather
    /// than ort's silent CPU fallback.
    fn commit(
        &self,
        source: &ModelSource,
        bytes: &[u8],
        threads: usize,
        prepacked: Option<&PrepackedWeights>,
        providers: &[ExecutionProviderDispatch],
    ) -> Result<Session, String> {
        let e = |e: ort::Error| e.to_string();
        let mut builder = Session::builder(&self.env)
            .map_err(e)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|x| e(x.into()))?
            .with_intra_threads(threads.max(1))
            .map_err(|x| e(x.into()))?
            // Workers are our own threads; ORT's spinning threads would steal their cores.
            .with_intra_op_spinning(false)
            .map_err(|x| e(x.into()))?
            .with_inter_threads(1)
            .map_err(|x| e(x.into()))?;
        if !providers.is_empty() {
            builder = builder
                .with_execution_providers(providers)
                .map_err(|x| e(x.into()))?;
        }
        if let Some(weights) = prepacked {
            builder = builder
                .with_prepacked_weights(weights)
                .map_err(|x| e(x.into()))?;
        }
        match source {
            // From the file, so that weights stored as external data beside it (any model
            // over 2 GB, such as HMR2) are found.
            ModelSource::File(path) => builder.commit_from_file(path),
            ModelSource::Embedded { .. } => builder.commit_from_memory(bytes),
        }
        .map_err(e)
    }

    /// Before the first GPU session: the GPU runtime's libraries opened in dependency
    /// order (see `engine::preload`), then the provider to register.
    fn prepare_gpu(
        &self,
        device: Device,
        model_sha256: &str,
        placement: &Placement,
    ) -> Result<Vec<ExecutionProviderDispatch>, String> {
        gpu_libraries_preloaded(&self.library)?;
        let cuda = || {
            ep::CUDA::default()
                .with_device_id(0)
                .build()
                .error_on_failure()
        };
        Ok(match device {
            Device::Cpu => Vec::new(),
            Device::Cuda => vec![cuda()],
            Device::TensorRt => {
                let mut trt = ep::TensorRT::default().with_device_id(0);
                if let Some(dir) = &placement.trt_cache {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        format!("cannot create the TensorRT cache {}: {e}", dir.display())
                    })?;
                    let prefix = device::trt_cache_prefix(
                        model_sha256,
                        placement.gpu_name.as_deref(),
                        TRT_PRECISION,
                    );
                    let cached = std::fs::read_dir(dir)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix));
                    if !cached {
                        eprintln!(
                            "posekit: no TensorRT engine cached for this model and GPU: TensorRT builds one at the first \
                             crops (minutes for HMR2) and keeps it in {} for later runs",
                            dir.display()
                        );
                    }
                    trt = trt
                        .with_engine_cache(true)
                        .with_engine_cache_path(dir.display())
                        .with_engine_cache_prefix(prefix)
                        .with_timing_cache(true)
                        .with_timing_cache_path(dir.display());
                }
                // CUDA behind TensorRT for what TensorRT does not take.
                vec![trt.build().error_on_failure(), cuda()]
            }
        })
    }
}

impl Engine {
    /// Whether the CUDA provider registers on a session of `probe` (a small model):
    /// `None` when this build has no CUDA provider (nothing to try), else ONNX Runtime's
    /// answer. For `doctor`; it loads the GPU libraries as a real run would.
    pub fn cuda_registers(&self, probe: &ModelSource) -> Option<Result<(), String>> {
        let provider = Device::Cuda.provider();
        if !self.runtime_info().providers.iter().any(|p| p == provider) {
            return None;
        }
        let source = probe;
        let (_, bytes) = match source.load_bytes() {
            Ok(loaded) => loaded,
            Err(e) => return Some(Err(e.to_string())),
        };
        let placement = Placement {
            request: DeviceRequest::Cuda,
            ..Placement::default()
        };
        Some(
            self.prepare_gpu(Device::Cuda, &sha256_hex(&bytes), &placement)
                .and_then(|providers| self.commit(source, &bytes, 1, None, &providers))
                .map(|_| ()),
        )
    }
}

/// TensorRT builds its engines in fp32 (its own fp16 mode is not turned on): an fp16
/// model is told apart in the cache key by its own hash.
const TRT_PRECISION: &str = "fp32";

/// Opens the GPU runtime's libraries from the folder of the loaded ONNX Runtime, once per
/// process; what the folder lacks is left to the system loader (and named by ONNX
/// Runtime's error if it is missing there too).
fn gpu_libraries_preloaded(library: &Path) -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let Some(dir) = library.parent() else {
            return Ok(());
        };
        let mut libs = preload::scan(&dir.join(preload::GPU_LIBRARY_DIR));
        libs.extend(preload::scan(dir));
        let order = preload::gpu_folder_order(&libs);
        preload::preload(&order).map(|_| ())
    })
    .clone()
}

fn load_environment(library: &Path) -> Result<Environment, EngineError> {
    let load_err = |reason: String| EngineError::RuntimeLoad {
        path: library.to_path_buf(),
        reason,
    };
    ort::init_from(library)
        .map_err(|e| load_err(e.to_string()))?
        .with_name("posekit")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_err(e.to_string()))
}

fn describe_candidates(candidates: &[PathBuf]) -> String {
    if candidates.is_empty() {
        return "nowhere: no candidate location".into();
    }
    candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn tensor_info(outlet: &ort::value::Outlet) -> TensorInfo {
    let shape = outlet
        .dtype()
        .tensor_shape()
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    TensorInfo {
        name: outlet.name().to_string(),
        shape,
    }
}

/// The file name without directories, so headers don't leak a user's home path twice.
fn short_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

/// sha256 of `bytes` as lowercase hex.
/// The sha256 of a model built into the binary, computed once per process: every worker
/// loads the same two models, and hashing their 25 MB again for each was 1% of a run.
fn embedded_sha256(bytes: &'static [u8]) -> String {
    static KNOWN: std::sync::Mutex<Vec<(usize, String)>> = std::sync::Mutex::new(Vec::new());
    let key = bytes.as_ptr() as usize;
    let mut known = KNOWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, hash)) = known.iter().find(|(k, _)| *k == key) {
        return hash.clone();
    }
    let hash = sha256_hex(bytes);
    known.push((key, hash.clone()));
    hash
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One ort session and what it is.
pub struct OrtModel {
    session: Session,
    info: ModelInfo,
    /// TensorRT builds (or loads) its engine at the first run: say how long that took.
    timing_first_run: bool,
}

impl Inference for OrtModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
        // The model's name is copied into an error only when there is one.
        let model = &self.info.name;
        let run_err = |e: ort::Error| EngineError::Run {
            model: model.clone(),
            reason: e.to_string(),
        };
        let tensor = TensorRef::from_array_view(input).map_err(run_err)?;
        let started = std::time::Instant::now();
        let outputs = self.session.run(ort::inputs![tensor]).map_err(run_err)?;
        if std::mem::take(&mut self.timing_first_run) {
            eprintln!(
                "posekit: {model}: TensorRT's first run (engine built or loaded from its cache) took {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let mut result = Outputs::default();
        for (name, value) in outputs.iter() {
            let array = value.try_extract_array::<f32>().map_err(run_err)?;
            result.names.push(name.to_string());
            result.arrays.push(array.to_owned());
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_in_model_is_hashed_once_and_the_same_as_its_bytes() {
        static BYTES: &[u8] = b"not really a model";
        let first = embedded_sha256(BYTES);
        assert_eq!(first, sha256_hex(BYTES));
        assert_eq!(embedded_sha256(BYTES), first);
        static OTHER: &[u8] = b"another one";
        assert_eq!(embedded_sha256(OTHER), sha256_hex(OTHER));
    }
}
