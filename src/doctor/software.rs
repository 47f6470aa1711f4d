//! Checks of what posekit runs on: ONNX Runtime, FFmpeg, the models, its config, the GPU.

use super::{size, Check, Status};
use crate::system::{RuntimeState, SystemFacts};

/// The same advice `process` gives when the runtime is missing (see `EngineError`).
const GET_ORT: &str =
    "Run `make setup` in the posekit checkout (it puts libonnxruntime.so in posekit's data \
     directory), or `pip install onnxruntime==1.31.1`, or pass --ort-lib PATH / set ORT_DYLIB_PATH \
     to a libonnxruntime.so of version 1.31 or newer";

pub fn onnxruntime(facts: &SystemFacts) -> Check {
    let ort = &facts.onnxruntime;
    let mut check = match &ort.state {
        RuntimeState::Loaded { library, info } => {
            let version = info.version.as_deref().unwrap_or("(version unknown)");
            let mut c = Check::new(
                "onnxruntime",
                Status::Ok,
                format!("ONNX Runtime {version} from {}", library.display()),
            );
            c = c.detail(format!(
                "execution providers: {}",
                info.providers.join(", ")
            ));
            let gpu = facts.gpu.found().is_some_and(|d| !d.is_empty());
            if gpu && !info.providers.iter().any(|p| p.starts_with("CUDA")) {
                c = c.detail("this build has no CUDA provider, so posekit runs on the CPU (the GPU build is the onnxruntime-gpu wheel)");
            }
            return c;
        }
        RuntimeState::NotFound => {
            Check::new("onnxruntime", Status::Failure, "ONNX Runtime not found").fix(GET_ORT)
        }
        RuntimeState::LoadFailed { reason } => Check::new(
            "onnxruntime",
            Status::Failure,
            "ONNX Runtime found but could not be loaded",
        )
        .detail(reason.clone())
        .fix(format!("Replace it with a working library. {GET_ORT}")),
    };
    for path in &ort.searched {
        check = check.detail(format!("looked at {}", path.display()));
    }
    check
}

pub fn ffmpeg(facts: &SystemFacts) -> Check {
    let f = &facts.ffmpeg;
    let dotted = |v: [u32; 3]| format!("{}.{}.{}", v[0], v[1], v[2]);
    let mut broken = Vec::new();
    let mut older = Vec::new();
    let mut details = Vec::new();
    for lib in &f.libraries {
        details.push(format!(
            "lib{}: built against {}, runs with {}",
            lib.name,
            dotted(lib.built),
            dotted(lib.running)
        ));
        if lib.built[0] != lib.running[0] {
            broken.push(lib.name);
        } else if lib.running < lib.built {
            older.push(lib.name);
        }
    }
    let mut check = if !broken.is_empty() {
        Check::new(
            "ffmpeg",
            Status::Failure,
            format!("FFmpeg {}: major version differs from the build for {}", f.release, broken.join(", ")),
        )
        .fix("Rebuild posekit against the FFmpeg installed here (`cargo build --release`), or install the FFmpeg libraries it was built with")
    } else if !older.is_empty() {
        Check::new(
            "ffmpeg",
            Status::Warning,
            format!("FFmpeg {}: older than the build for {}", f.release, older.join(", ")),
        )
        .fix("Upgrade the FFmpeg libraries (`apt-get install --only-upgrade libavcodec59 libavformat59 libavutil57 libswscale6`) or rebuild posekit here")
    } else {
        Check::new(
            "ffmpeg",
            Status::Ok,
            format!(
                "FFmpeg {}, the libraries posekit was built against",
                f.release
            ),
        )
    };
    check.details = details;
    check
}

pub fn models(facts: &SystemFacts) -> Check {
    let m = &facts.models;
    let mut check = Check::new("models", Status::Ok, "");
    let mut intact = 0;
    for model in &m.builtin {
        let ok = model.expected_sha256.as_deref() == Some(model.actual_sha256.as_str());
        intact += usize::from(ok);
        check = check.detail(format!(
            "built in: {} ({}), sha256 {} {}",
            model.name,
            size(model.bytes),
            &model.actual_sha256[..model.actual_sha256.len().min(12)],
            if ok {
                "matches the manifest"
            } else {
                "does NOT match the manifest"
            }
        ));
    }
    let mut missing = Vec::new();
    for model in &m.configured {
        check = check.detail(match &model.bytes {
            Ok(bytes) => format!(
                "{} = {} ({})",
                model.name,
                model.path.display(),
                size(*bytes)
            ),
            Err(reason) => {
                missing.push(model.name.as_str());
                format!("{} = {}: {reason}", model.name, model.path.display())
            }
        });
    }
    let configured = m.configured.len() - missing.len();
    check.summary = format!(
        "{intact} of {} built-in models intact{}",
        m.builtin.len(),
        if m.configured.is_empty() {
            String::new()
        } else {
            format!(
                "; {configured} of {} configured models present",
                m.configured.len()
            )
        }
    );
    if intact < m.builtin.len() {
        check.status = Status::Failure;
        check = check.fix(
            "This posekit binary is damaged: rebuild it (`cargo build --release`) or reinstall it",
        );
    } else if !missing.is_empty() {
        check.status = Status::Failure;
        let config = facts
            .config
            .path
            .as_ref()
            .map_or("posekit.toml".into(), |p| p.display().to_string());
        check = check.fix(format!(
            "Point [models] {} in {config} at an existing ONNX file, or remove the entry",
            missing.join(", ")
        ));
    }
    check
}

pub fn config(facts: &SystemFacts) -> Check {
    let c = &facts.config;
    let path = c
        .path
        .as_ref()
        .map_or("posekit.toml".into(), |p| p.display().to_string());
    match &c.loaded {
        Ok(None) => Check::new(
            "config",
            Status::Ok,
            format!("no {path}: defaults in force"),
        )
        .detail(format!(
            "workers = {} (one per usable core), service port = 5000",
            facts.cpu.usable
        )),
        Ok(Some(settings)) => {
            let mut check = Check::new("config", Status::Ok, format!("{path} read"));
            if let Some(w) = settings.workers {
                check = check.detail(format!("[process] workers = {w}"));
            }
            if let Some(p) = settings.serve_port {
                check = check.detail(format!("[serve] port = {p}"));
            }
            for (name, file) in &settings.models {
                check = check.detail(format!("[models] {name} = {}", file.display()));
            }
            check
        }
        Err(reason) => Check::new("config", Status::Failure, format!("{path} is broken"))
            .detail(reason.clone())
            .fix(format!(
                "Correct {path} as the message says, or move it aside to use the defaults"
            )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures;
    use crate::system::ffmpeg::LibraryVersion;

    #[test]
    fn loaded_runtime_reports_version_and_providers() {
        let check = onnxruntime(&fixtures::native());
        assert_eq!(check.status, Status::Ok);
        assert!(check
            .summary
            .starts_with("ONNX Runtime 1.31.1 from /home/ana"));
        assert_eq!(
            check.details,
            vec!["execution providers: CPUExecutionProvider"]
        );
    }

    #[test]
    fn missing_runtime_fails_with_where_it_looked() {
        let check = onnxruntime(&fixtures::broken());
        assert_eq!(check.status, Status::Failure);
        assert!(check.details[0].starts_with("looked at "));
        assert!(check.fix.unwrap().contains("make setup"));
    }

    #[test]
    fn ffmpeg_major_mismatch_fails() {
        let mut facts = fixtures::native();
        assert_eq!(ffmpeg(&facts).status, Status::Ok);
        facts.ffmpeg.libraries.push(LibraryVersion {
            name: "avformat",
            built: [59, 27, 100],
            running: [60, 16, 100],
        });
        let check = ffmpeg(&facts);
        assert_eq!(check.status, Status::Failure);
        assert!(check.summary.contains("avformat"));
    }

    #[test]
    fn damaged_or_missing_models_fail() {
        assert_eq!(models(&fixtures::native()).status, Status::Ok);
        let check = models(&fixtures::broken());
        assert_eq!(check.status, Status::Failure);
        assert_eq!(
            check.summary,
            "0 of 1 built-in models intact; 0 of 1 configured models present"
        );
        let mut facts = fixtures::broken();
        facts.models.builtin[0].actual_sha256 = "ad97".into();
        assert!(models(&facts).fix.unwrap().contains("[models] hmr2"));
    }

    #[test]
    fn config_states() {
        assert!(config(&fixtures::native())
            .summary
            .starts_with("no /home/ana"));
        let check = config(&fixtures::broken());
        assert!(check
            .details
            .contains(&"[process] workers = 16".to_string()));
        let mut facts = fixtures::native();
        facts.config.loaded = Err("bad".into());
        assert_eq!(config(&facts).status, Status::Failure);
    }
}
