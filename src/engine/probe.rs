//! What the loaded ONNX Runtime is: its version and the execution providers it offers.
//!
//! Read-only questions for `doctor`, kept in the engine because only the engine may use
//! ort. Both answers come from the library itself, never from its file name, so a
//! renamed or symlinked library still reports the truth. (Its build-info string is no
//! help: release wheels say `git-branch=HEAD`.)

use std::ffi::{c_char, c_int, CStr};
use std::path::Path;

use super::Engine;

/// `OrtApiBase`, the C API's entry point: the version string sits beside `GetApi`.
#[repr(C)]
struct OrtApiBase {
    get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
    get_version_string: unsafe extern "C" fn() -> *const c_char,
}

/// The runtime as `doctor` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// `1.31.1`, from `OrtGetApiBase()->GetVersionString()`; `None` when unreadable.
    pub version: Option<String>,
    /// Execution providers compiled into this build (`CPUExecutionProvider`,
    /// `CUDAExecutionProvider`, ...), as the library names them.
    pub providers: Vec<String>,
}

impl Engine {
    /// Asks the loaded library about itself. Cheap: no session is created.
    pub fn runtime_info(&self) -> RuntimeInfo {
        RuntimeInfo {
            version: version_string(&self.library),
            providers: available_providers().unwrap_or_default(),
        }
    }
}

/// Opens the already-loaded library again (the loader hands back the same handle) and
/// asks `OrtGetApiBase()` for its version, as ort does privately when it loads it.
fn version_string(library: &Path) -> Option<String> {
    // SAFETY: the library is loaded already, so opening it runs no initialisers again;
    // `OrtGetApiBase` has this signature in every ONNX Runtime release, and the string
    // it returns is static.
    unsafe {
        let lib = libloading::Library::new(library).ok()?;
        let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const OrtApiBase> =
            lib.get(b"OrtGetApiBase\0").ok()?;
        let base = get_base();
        if base.is_null() {
            return None;
        }
        let version = ((*base).get_version_string)();
        (!version.is_null()).then(|| CStr::from_ptr(version).to_string_lossy().into_owned())
    }
}

/// `OrtApi::GetAvailableProviders`, which ort only uses privately.
fn available_providers() -> Option<Vec<String>> {
    let api = ort::api();
    let mut list: *mut *mut c_char = std::ptr::null_mut();
    let mut count: c_int = 0;
    // SAFETY: the runtime is loaded (an `Engine` exists), and the out-pointers are valid
    // for writes. On success the runtime owns `list` until ReleaseAvailableProviders.
    let status = unsafe { (api.GetAvailableProviders)(&mut list, &mut count) };
    if !status.0.is_null() {
        // SAFETY: a non-null status from the API is ours to release.
        unsafe { (api.ReleaseStatus)(status.0) };
        return None;
    }
    if list.is_null() {
        return Some(Vec::new());
    }
    let providers = (0..count.max(0) as usize)
        .map(|i| {
            // SAFETY: `list` holds `count` NUL-terminated strings.
            unsafe { CStr::from_ptr(*list.add(i)) }
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // SAFETY: releases exactly what GetAvailableProviders returned.
    let status = unsafe { (api.ReleaseAvailableProviders)(list, count) };
    if !status.0.is_null() {
        // SAFETY: as above.
        unsafe { (api.ReleaseStatus)(status.0) };
    }
    Some(providers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RuntimeSearch;

    /// Needs the runtime that `make setup` installs, like the other engine tests.
    #[test]
    fn the_loaded_runtime_knows_its_version_and_the_cpu_provider() {
        let engine = Engine::load(&RuntimeSearch::from_environment(None)).expect("ONNX Runtime");
        let info = engine.runtime_info();
        let version = info.version.expect("version");
        assert!(version.starts_with("1."), "{version}");
        assert!(info.providers.iter().any(|p| p == "CPUExecutionProvider"));
    }
}
