//! Facts about running on the GPU: the CUDA version the driver supports, the GPU build of
//! ONNX Runtime and the libraries its CUDA provider needs, whether the provider
//! registers, and WSL2's driver library. `doctor`'s `gpu` check decides over them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::{run_with_timeout, Run};
use super::gpu::nvidia_smi;
use crate::engine::preload::{self, is_base_system, GPU_LIBRARY_DIR};
use crate::engine::{data_dir, Engine, ModelSource, GPU_RUNTIME_DIR};

/// Where WSL2 puts the Windows driver's CUDA library.
pub const WSL_LIBCUDA: &str = "/usr/lib/wsl/lib/libcuda.so";

/// The providers posekit can use, as ONNX Runtime's library files name them.
const CUDA_PROVIDER: &str = "libonnxruntime_providers_cuda.so";
const TENSORRT_PROVIDER: &str = "libonnxruntime_providers_tensorrt.so";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpuRuntimeFacts {
    /// "13.0" from `nvidia-smi`'s banner: the newest CUDA the driver can run.
    pub driver_cuda: Option<String>,
    /// Where the GPU build was looked for.
    pub looked_at: Option<PathBuf>,
    /// The folder holding a GPU build with its CUDA provider, when found.
    pub runtime_dir: Option<PathBuf>,
    /// The TensorRT provider is there too.
    pub tensorrt_provider: bool,
    /// Libraries the CUDA provider needs (transitively) that neither the GPU folder nor
    /// the system loader provides, each with a library that needs it.
    pub missing: Vec<(String, String)>,
    /// `Some` when the loaded runtime has the CUDA provider: whether it registered.
    pub registers: Option<Result<(), String>>,
    /// `/usr/lib/wsl/lib/libcuda.so` exists (matters under WSL2 only).
    pub wsl_libcuda: bool,
}

/// Gathers the facts. `engine` is the loaded runtime, if any: when it is the GPU build,
/// registering the CUDA provider on `probe` is tried for real.
pub fn gather(engine: Option<&Engine>, probe: &ModelSource, timeout: Duration) -> GpuRuntimeFacts {
    let loaded_gpu_dir = engine
        .filter(|e| {
            e.runtime_info()
                .providers
                .iter()
                .any(|p| p.starts_with("CUDA"))
        })
        .and_then(|e| e.library.parent().map(Path::to_path_buf));
    let looked_at = loaded_gpu_dir
        .clone()
        .or_else(|| data_dir().map(|d| d.join(GPU_RUNTIME_DIR)));
    let runtime_dir = looked_at
        .clone()
        .filter(|d| d.join(CUDA_PROVIDER).is_file());
    let missing = runtime_dir
        .as_deref()
        .map(|dir| missing_libraries(dir, &system_library_dirs(timeout)))
        .unwrap_or_default();
    GpuRuntimeFacts {
        driver_cuda: driver_cuda(timeout),
        tensorrt_provider: runtime_dir
            .as_ref()
            .is_some_and(|d| d.join(TENSORRT_PROVIDER).is_file()),
        looked_at,
        runtime_dir,
        missing,
        registers: engine.and_then(|e| e.cuda_registers(probe)),
        wsl_libcuda: Path::new(WSL_LIBCUDA).exists(),
    }
}

/// What the CUDA provider and the libraries beside it need that is in neither `dir` (and
/// its `cuda/` folder) nor one of `system` (the loader's folders).
fn missing_libraries(dir: &Path, system: &[PathBuf]) -> Vec<(String, String)> {
    let mut libs = preload::scan(dir);
    libs.extend(preload::scan(&dir.join(GPU_LIBRARY_DIR)));
    // Everything posekit preloads, and the CUDA provider; TensorRT's provider is optional
    // (its libraries come only with TENSORRT=1).
    let roots: Vec<&str> = libs
        .iter()
        .map(|l| l.soname.as_str())
        .filter(|s| !s.starts_with("libonnxruntime") || *s == CUDA_PROVIDER)
        .collect();
    let order = preload::preload_order(&libs, &roots);
    order
        .outside
        .into_iter()
        .filter(|(soname, _)| !is_base_system(soname))
        .filter(|(soname, _)| !system.iter().any(|d| d.join(soname).exists()))
        .map(|(soname, needers)| (soname, needers.into_iter().next().unwrap_or_default()))
        .collect()
}

/// The folders the dynamic loader searches: `LD_LIBRARY_PATH`, those `ldconfig -p`
/// lists, the usual ones, and WSL2's driver folder.
fn system_library_dirs(timeout: Duration) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file());
    if let Some(exe) = ldconfig {
        if let Run::Finished { stdout, .. } = run_with_timeout(exe, &["-p"], None, timeout) {
            dirs.extend(ldconfig_dirs(&String::from_utf8_lossy(&stdout)));
        }
    }
    for d in [
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/lib/wsl/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The folders of `ldconfig -p`'s lines (`\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/…`).
pub fn ldconfig_dirs(text: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(" => ").nth(1))
        .filter_map(|p| Path::new(p.trim()).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

fn driver_cuda(timeout: Duration) -> Option<String> {
    let exe = nvidia_smi()?;
    match run_with_timeout(&exe, &[], None, timeout) {
        Run::Finished { stdout, .. } => cuda_version(&String::from_utf8_lossy(&stdout)),
        _ => None,
    }
}

/// "13.0" from the `CUDA Version: 13.0` of `nvidia-smi`'s banner.
pub fn cuda_version(banner: &str) -> Option<String> {
    let rest = banner.split("CUDA Version:").nth(1)?;
    let version: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!version.is_empty()).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_gives_the_cuda_version() {
        let banner = "+------+\n| NVIDIA-SMI 580.65.06   Driver Version: 580.65.06   CUDA Version: 13.0     |\n";
        assert_eq!(cuda_version(banner).as_deref(), Some("13.0"));
        assert_eq!(cuda_version("no banner"), None);
    }

    #[test]
    fn ldconfig_lines_give_their_folders() {
        let text = "3 libs found in cache `/etc/ld.so.cache'\n\
                    \tlibcuda.so.1 (libc6,x86-64) => /usr/lib/wsl/lib/libcuda.so.1\n\
                    \tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6\n\
                    \tlibm.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libm.so.6\n";
        assert_eq!(
            ldconfig_dirs(text),
            [
                PathBuf::from("/lib/x86_64-linux-gnu"),
                PathBuf::from("/usr/lib/wsl/lib")
            ]
        );
    }

    #[test]
    fn no_gpu_build_means_nothing_missing_and_nothing_tried() {
        let dir = tempfile::tempdir().unwrap();
        assert!(missing_libraries(dir.path(), &[]).is_empty());
    }
}
