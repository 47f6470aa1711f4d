//! Where to look for the ONNX Runtime shared library, in the order a user expects.
//!
//! Gathering the facts (environment, executable path, Python) is kept apart from the
//! order of preference, which is a pure function and tested here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The library's file name on Linux; setup links or copies the versioned file to this.
pub const LIBRARY_NAME: &str = "libonnxruntime.so";

/// Folders of posekit's data directory: the CPU build (`make setup`) and the GPU build
/// (`make setup-gpu`), side by side, never one over the other.
pub const CPU_RUNTIME_DIR: &str = "onnxruntime";
pub const GPU_RUNTIME_DIR: &str = "onnxruntime-gpu";

/// Facts about where ONNX Runtime might be, gathered once.
#[derive(Clone, Debug, Default)]
pub struct RuntimeSearch {
    /// `--ort-lib PATH`: when given, it is the only candidate.
    pub explicit: Option<PathBuf>,
    /// `ORT_DYLIB_PATH`.
    pub env_var: Option<PathBuf>,
    /// posekit's data directory (`$XDG_DATA_HOME/posekit` or `~/.local/share/posekit`).
    pub data_dir: Option<PathBuf>,
    /// The directory holding the running binary.
    pub exe_dir: Option<PathBuf>,
    /// `onnxruntime/capi` of an installed Python package, when asked for.
    pub python_capi: Option<PathBuf>,
    /// Look at the GPU build in the data directory before the CPU one (a run that may
    /// use the GPU; the GPU build runs CPU sessions as well).
    pub prefer_gpu: bool,
}

impl RuntimeSearch {
    /// Reads the environment. The Python probe runs a subprocess, so it only runs when
    /// none of the cheaper places has the library.
    pub fn from_environment(explicit: Option<PathBuf>) -> Self {
        let mut search = RuntimeSearch {
            explicit,
            env_var: std::env::var_os("ORT_DYLIB_PATH")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            data_dir: data_dir(),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
            python_capi: None,
            prefer_gpu: false,
        };
        if search.explicit.is_none() && !candidate_paths(&search).iter().any(|p| p.is_file()) {
            search.python_capi = python_onnxruntime_capi();
        }
        search
    }

    /// The same search, with the GPU build first when `gpu` (see `prefer_gpu`).
    pub fn preferring_gpu(mut self, gpu: bool) -> Self {
        self.prefer_gpu = gpu;
        self
    }
}

/// posekit's per-user data directory, following the XDG base directory rules.
pub fn data_dir() -> Option<PathBuf> {
    xdg_dir("XDG_DATA_HOME", ".local/share")
}

/// posekit's per-user cache directory (`$XDG_CACHE_HOME/posekit` or `~/.cache/posekit`):
/// TensorRT's engines live under it.
pub fn cache_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CACHE_HOME", ".cache")
}

/// `$VAR/posekit`, or `~/FALLBACK/posekit` when the variable is unset or empty.
fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    let base = match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(fallback),
    };
    Some(base.join("posekit"))
}

/// Candidate library paths, most specific first. An explicit path excludes the rest,
/// so a typo in `--ort-lib` is reported rather than silently replaced.
pub fn candidate_paths(search: &RuntimeSearch) -> Vec<PathBuf> {
    if let Some(path) = &search.explicit {
        return vec![path.clone()];
    }
    let mut paths = Vec::new();
    paths.extend(search.env_var.clone());
    if let Some(dir) = &search.data_dir {
        if search.prefer_gpu {
            paths.push(dir.join(GPU_RUNTIME_DIR).join(LIBRARY_NAME));
        }
        paths.push(dir.join(CPU_RUNTIME_DIR).join(LIBRARY_NAME));
    }
    if let Some(dir) = &search.exe_dir {
        paths.push(dir.join(LIBRARY_NAME));
    }
    if let Some(dir) = &search.python_capi {
        paths.extend(versioned_libraries(dir));
    }
    paths
}

/// The Python wheel ships `libonnxruntime.so.1.x.y` with no unversioned link.
fn versioned_libraries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(LIBRARY_NAME))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        found.push(dir.join(LIBRARY_NAME));
    }
    found
}

/// Asks `python3` where its `onnxruntime` package lives, without importing it (an
/// import loads the library and can take a second).
fn python_onnxruntime_capi() -> Option<PathBuf> {
    let script = "import importlib.util as u; s = u.find_spec('onnxruntime'); \
                  print(s.submodule_search_locations[0] if s else '')";
    let output = Command::new("python3").args(["-c", script]).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir).join("capi"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search() -> RuntimeSearch {
        RuntimeSearch {
            explicit: None,
            env_var: Some("/env/libonnxruntime.so".into()),
            data_dir: Some("/data/posekit".into()),
            exe_dir: Some("/bin/dir".into()),
            python_capi: None,
            prefer_gpu: false,
        }
    }

    #[test]
    fn a_run_that_may_use_the_gpu_looks_at_the_gpu_build_first() {
        let paths = candidate_paths(&search().preferring_gpu(true));
        assert_eq!(
            paths[1..3],
            [
                PathBuf::from("/data/posekit/onnxruntime-gpu/libonnxruntime.so"),
                PathBuf::from("/data/posekit/onnxruntime/libonnxruntime.so"),
            ]
        );
    }

    #[test]
    fn order_is_env_then_data_dir_then_next_to_binary() {
        let paths = candidate_paths(&search());
        assert_eq!(
            paths,
            vec![
                PathBuf::from("/env/libonnxruntime.so"),
                PathBuf::from("/data/posekit/onnxruntime/libonnxruntime.so"),
                PathBuf::from("/bin/dir/libonnxruntime.so"),
            ]
        );
    }

    #[test]
    fn explicit_path_is_the_only_candidate() {
        let mut s = search();
        s.explicit = Some("/mine/lib.so".into());
        assert_eq!(candidate_paths(&s), vec![PathBuf::from("/mine/lib.so")]);
    }

    #[test]
    fn python_wheel_versioned_library_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("libonnxruntime.so.1.31.1");
        std::fs::write(&lib, b"").unwrap();
        std::fs::write(dir.path().join("other.so"), b"").unwrap();
        let s = RuntimeSearch {
            python_capi: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        assert_eq!(candidate_paths(&s), vec![lib]);
    }
}
