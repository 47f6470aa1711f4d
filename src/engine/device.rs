//! Where a model runs: the CPU, or an NVIDIA GPU through ONNX Runtime's CUDA or TensorRT
//! execution provider.
//!
//! What to try, and what a failure means, are pure decisions here ([`plan`],
//! [`after_failure`]); registering a provider on a session is in `engine/mod.rs`. ort
//! registers providers "fail silently" by default (it logs and runs on the CPU); posekit
//! never does that: an explicit `cuda` or `tensorrt` that cannot be registered is an
//! error, and `auto` says on stderr and in the header that it chose the CPU, and why.

use std::path::PathBuf;

/// What the user asked for (`--device`, `[process] device`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceRequest {
    /// The GPU (CUDA) when its provider registers, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    TensorRt,
}

/// Where a session actually runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
    #[serde(rename = "tensorrt")]
    TensorRt,
}

impl DeviceRequest {
    pub const NAMES: [&'static str; 4] = ["auto", "cpu", "cuda", "tensorrt"];

    pub fn name(self) -> &'static str {
        match self {
            DeviceRequest::Auto => "auto",
            DeviceRequest::Cpu => "cpu",
            DeviceRequest::Cuda => "cuda",
            DeviceRequest::TensorRt => "tensorrt",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Auto, Self::Cpu, Self::Cuda, Self::TensorRt]
            .into_iter()
            .find(|d| d.name() == name)
    }
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::TensorRt => "tensorrt",
        }
    }

    /// The provider's name as ONNX Runtime lists it (`GetAvailableProviders`).
    pub fn provider(self) -> &'static str {
        match self {
            Device::Cpu => "CPUExecutionProvider",
            Device::Cuda => "CUDAExecutionProvider",
            Device::TensorRt => "TensorrtExecutionProvider",
        }
    }

    pub fn is_gpu(self) -> bool {
        self != Device::Cpu
    }
}

/// How a session is to be placed.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    pub request: DeviceRequest,
    /// Where TensorRT keeps the engines it builds (posekit's cache directory); the file
    /// names inside are keyed by model hash, GPU and precision (see [`trt_cache_prefix`]).
    pub trt_cache: Option<PathBuf>,
    /// The GPU's name, for the TensorRT cache key (from `nvidia-smi`; "gpu0" when unknown).
    pub gpu_name: Option<String>,
}

impl Placement {
    pub fn cpu() -> Self {
        Placement {
            request: DeviceRequest::Cpu,
            ..Placement::default()
        }
    }
}

/// The device to try first for `request`: auto tries CUDA (not TensorRT, whose first
/// engine build for a ViT-H takes minutes), explicit requests try what they name.
pub fn plan(request: DeviceRequest) -> Device {
    match request {
        DeviceRequest::Cpu => Device::Cpu,
        DeviceRequest::Auto | DeviceRequest::Cuda => Device::Cuda,
        DeviceRequest::TensorRt => Device::TensorRt,
    }
}

/// What registering `tried` failed with, as facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub tried: Device,
    /// ONNX Runtime's own words.
    pub reason: String,
    /// The loaded runtime's providers (a CPU-only build lists only the CPU).
    pub available: Vec<String>,
    /// The loaded library.
    pub library: PathBuf,
}

/// After a failed registration: auto falls back to the CPU (with the reason, to be
/// said aloud); an explicit device is an error with its fix.
pub fn after_failure(request: DeviceRequest, failure: &Failure) -> Result<String, String> {
    let explained = explain(failure);
    match request {
        DeviceRequest::Auto => Ok(format!("no usable GPU ({explained}); running on the CPU")),
        _ => Err(format!(
            "--device {} could not be used: {explained}.\nFix: {}",
            failure.tried.name(),
            fix(failure)
        )),
    }
}

fn explain(failure: &Failure) -> String {
    let provider = failure.tried.provider();
    if !failure.available.iter().any(|p| p == provider) {
        return format!(
            "the ONNX Runtime at {} is a build without {provider} (it offers {})",
            failure.library.display(),
            failure.available.join(", ")
        );
    }
    let reason = failure.reason.lines().next().unwrap_or_default();
    format!("{provider} did not register: {reason}")
}

fn fix(failure: &Failure) -> String {
    let provider = failure.tried.provider();
    if !failure.available.iter().any(|p| p == provider) {
        return "run `make setup-gpu` (scripts/setup.sh --gpu) in the posekit checkout, which puts the GPU \
                build beside the CPU one, then pass --ort-lib ~/.local/share/posekit/onnxruntime-gpu/libonnxruntime.so \
                (or set ORT_DYLIB_PATH); `posekit doctor --check gpu` says what else is missing; \
                or use --device cpu"
            .into();
    }
    "`posekit doctor --check gpu` names each missing library and the driver's CUDA version; \
     re-run `make setup-gpu` for the CUDA and cuDNN libraries; or use --device cpu"
        .into()
}

/// The TensorRT engine cache's file prefix: model hash, GPU and precision, so that a new
/// model, another GPU or another precision never picks up a stale engine.
pub fn trt_cache_prefix(model_sha256: &str, gpu: Option<&str>, precision: &str) -> String {
    let gpu: String = gpu
        .unwrap_or("gpu0")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let hash = &model_sha256[..model_sha256.len().min(16)];
    format!("hmr2-{hash}-{gpu}-{precision}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(available: &[&str]) -> Failure {
        Failure {
            tried: Device::Cuda,
            reason: "libcublasLt.so.13: cannot open shared object file\nmore".into(),
            available: available.iter().map(|s| s.to_string()).collect(),
            library: "/data/onnxruntime/libonnxruntime.so".into(),
        }
    }

    #[test]
    fn names_round_trip() {
        for name in DeviceRequest::NAMES {
            assert_eq!(DeviceRequest::parse(name).unwrap().name(), name);
        }
        assert_eq!(DeviceRequest::parse("gpu"), None);
    }

    #[test]
    fn auto_tries_cuda_and_cpu_tries_nothing_else() {
        assert_eq!(plan(DeviceRequest::Auto), Device::Cuda);
        assert_eq!(plan(DeviceRequest::Cpu), Device::Cpu);
        assert_eq!(plan(DeviceRequest::TensorRt), Device::TensorRt);
    }

    #[test]
    fn an_explicit_device_that_fails_is_an_error_naming_the_cpu_build() {
        let err =
            after_failure(DeviceRequest::Cuda, &failure(&["CPUExecutionProvider"])).unwrap_err();
        assert!(err.contains("build without CUDAExecutionProvider"), "{err}");
        assert!(err.contains("/data/onnxruntime/libonnxruntime.so"), "{err}");
        assert!(err.contains("make setup-gpu"), "{err}");
    }

    #[test]
    fn a_missing_library_is_named_from_the_runtime_reason() {
        let f = failure(&["CUDAExecutionProvider", "CPUExecutionProvider"]);
        let err = after_failure(DeviceRequest::Cuda, &f).unwrap_err();
        assert!(err.contains("libcublasLt.so.13"), "{err}");
        assert!(!err.contains("more"), "only the first line: {err}");
        assert!(err.contains("doctor --check gpu"), "{err}");
    }

    #[test]
    fn auto_falls_back_and_says_why() {
        let note = after_failure(DeviceRequest::Auto, &failure(&["CPUExecutionProvider"])).unwrap();
        assert!(note.contains("running on the CPU"), "{note}");
        assert!(note.contains("CUDAExecutionProvider"), "{note}");
    }

    #[test]
    fn trt_cache_key_changes_with_model_gpu_and_precision() {
        let a = trt_cache_prefix("abcdef0123456789ffff", Some("NVIDIA H200"), "fp16");
        assert_eq!(a, "hmr2-abcdef0123456789-NVIDIA_H200-fp16");
        assert_ne!(
            a,
            trt_cache_prefix("abcdef0123456789ffff", Some("RTX 3090"), "fp16")
        );
        assert_ne!(
            a,
            trt_cache_prefix("abcdef0123456789ffff", Some("NVIDIA H200"), "fp32")
        );
        assert_ne!(
            a,
            trt_cache_prefix("0bcdef0123456789ffff", Some("NVIDIA H200"), "fp16")
        );
        assert!(trt_cache_prefix("ab", None, "fp32").contains("gpu0"));
    }
}
