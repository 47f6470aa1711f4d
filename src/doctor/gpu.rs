//! The `gpu` check: is this machine ready to run HMR2 on an NVIDIA GPU, and if not, each
//! thing in the way with its fix. A pure decision over `facts.gpu` (nvidia-smi) and
//! `facts.gpu_runtime` (the GPU build of ONNX Runtime and its libraries).

use super::{size, Check, Status};
use crate::system::gpu_runtime::{GpuRuntimeFacts, WSL_LIBCUDA};
use crate::system::wsl::Kind;
use crate::system::{Probe, SystemFacts};

/// onnxruntime-gpu 1.31.1 is a CUDA 13 build.
const CUDA_MAJOR_NEEDED: u32 = 13;

const SETUP_GPU: &str = "run `make setup-gpu` (scripts/setup.sh --gpu) in the posekit checkout: it puts the \
     GPU build of ONNX Runtime and NVIDIA's CUDA 13 and cuDNN 9 libraries in posekit's data directory, \
     beside the CPU build";

pub fn gpu(facts: &SystemFacts) -> Check {
    let wsl2 = facts.platform.kind().0 == Kind::Wsl2;
    let wsl = facts.platform.kind().0 != Kind::Native;
    let g = &facts.gpu_runtime;
    match &facts.gpu {
        Probe::Absent if g.runtime_dir.is_some() => {
            let mut check = Check::new(
                "gpu",
                Status::Warning,
                "the GPU build of ONNX Runtime is installed, but there is no nvidia-smi (no NVIDIA driver)",
            );
            for (library, needed_by) in &g.missing {
                check = check.detail(format!("{library} is missing (needed by {needed_by})"));
            }
            if let Some(Err(reason)) = &g.registers {
                let reason = reason.lines().next().unwrap_or_default();
                check = check.detail(format!("the CUDA provider did not register: {reason}"));
            }
            check.fix(driver_fix(wsl))
        }
        Probe::Absent => Check::new("gpu", Status::Skipped, "no nvidia-smi: HMR2 runs on the CPU"),
        Probe::Found(devices) if devices.is_empty() => {
            Check::new("gpu", Status::Warning, "nvidia-smi lists no GPU").fix(driver_fix(wsl))
        }
        Probe::Found(devices) => {
            let mut check = readiness(g, wsl2, wsl, &devices[0].driver, devices.len());
            for d in devices {
                let memory = d.memory_mib.map_or(String::new(), |m| format!(", {}", size(m << 20)));
                check = check.detail(format!("{}{memory}", d.name));
            }
            check
        }
        Probe::TimedOut { probe, after } => Check::new(
            "gpu",
            Status::Warning,
            format!("`{probe}` did not answer within {after:?}"),
        )
        .fix("The NVIDIA driver is busy or stuck: run `nvidia-smi` yourself; a reboot (or `wsl --shutdown` under WSL) usually clears it"),
        Probe::Failed { probe, reason } => Check::new("gpu", Status::Warning, format!("`{probe}` failed: {reason}"))
            .fix(driver_fix(wsl)),
    }
}

/// With a GPU listed: every problem between it and a CUDA session, each with its fix.
fn readiness(g: &GpuRuntimeFacts, wsl2: bool, wsl: bool, driver: &str, count: usize) -> Check {
    let mut problems: Vec<(String, String)> = Vec::new();
    let cuda = g.driver_cuda.as_deref().unwrap_or("unknown");
    let major = g
        .driver_cuda
        .as_deref()
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    if major.is_some_and(|m| m < CUDA_MAJOR_NEEDED) {
        problems.push((
            format!("the driver runs CUDA up to {cuda}; the GPU build (onnxruntime-gpu 1.31.1) needs CUDA {CUDA_MAJOR_NEEDED}"),
            format!("update the NVIDIA driver to one for CUDA {CUDA_MAJOR_NEEDED} (version 580 or newer){}", if wsl { ", on Windows" } else { "" }),
        ));
    }
    if wsl2 && !g.wsl_libcuda {
        problems.push((
            format!("{WSL_LIBCUDA} is missing: WSL2 reaches the GPU through the Windows driver's library"),
            driver_fix(true).into(),
        ));
    }
    match &g.runtime_dir {
        None => problems.push((
            format!(
                "the GPU build of ONNX Runtime is not installed (looked in {})",
                g.looked_at
                    .as_ref()
                    .map_or("posekit's data directory".into(), |p| p
                        .display()
                        .to_string())
            ),
            SETUP_GPU.into(),
        )),
        Some(_) => {
            for (library, needed_by) in &g.missing {
                let fix = match library.starts_with("libcuda.so") {
                    true => driver_fix(wsl).to_string(),
                    false => format!("{SETUP_GPU} (it installs {library})"),
                };
                problems.push((format!("{library} is missing (needed by {needed_by})"), fix));
            }
        }
    }
    if let Some(Err(reason)) = &g.registers {
        let reason = reason.lines().next().unwrap_or_default();
        problems.push((
            format!("the CUDA provider did not register: {reason}"),
            "fix the problems above, then run `posekit doctor --check gpu` again".into(),
        ));
    }
    let devices = format!(
        "{count} NVIDIA GPU{}, driver {driver}, CUDA {cuda}",
        if count == 1 { "" } else { "s" }
    );
    if problems.is_empty() {
        let summary = match &g.registers {
            Some(Ok(())) => format!("GPU ready: {devices}; the CUDA provider registers"),
            _ => format!("{devices}; GPU build found, CUDA provider not tried"),
        };
        let mut check = Check::new("gpu", Status::Ok, summary);
        if let (None, Some(dir)) = (&g.registers, &g.runtime_dir) {
            check = check.detail(format!(
                "the loaded ONNX Runtime is not the GPU build; `posekit doctor --check gpu --ort-lib {}/libonnxruntime.so` tries it",
                dir.display()
            ));
        }
        if let Some(dir) = &g.runtime_dir {
            check = check.detail(format!(
                "GPU build: {} (TensorRT provider {})",
                dir.display(),
                if g.tensorrt_provider {
                    "present"
                } else {
                    "absent"
                }
            ));
        }
        return check;
    }
    let mut check = Check::new(
        "gpu",
        Status::Warning,
        format!("{devices}; not ready: {}", problems[0].0),
    );
    let mut fixes: Vec<String> = Vec::new();
    for (problem, fix) in &problems {
        check = check.detail(problem.clone());
        if !fixes.contains(fix) {
            fixes.push(fix.clone());
        }
    }
    check.fix(format!(
        "{}. Until then HMR2 runs on the CPU (--device cpu, or auto)",
        fixes.join("; ")
    ))
}

fn driver_fix(wsl: bool) -> &'static str {
    if wsl {
        "Install or update the NVIDIA driver on Windows (WSL2 uses it through /usr/lib/wsl/lib); do not install a Linux NVIDIA driver inside WSL"
    } else {
        "Install or repair the NVIDIA driver (`nvidia-smi` must list the GPU); posekit still runs on the CPU meanwhile"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures;
    use crate::system::gpu::GpuDevice;

    fn with_gpu(mut facts: SystemFacts) -> SystemFacts {
        facts.gpu = Probe::Found(vec![GpuDevice {
            name: "NVIDIA H100 80GB HBM3".into(),
            driver: "580.65.06".into(),
            memory_mib: Some(81559),
        }]);
        facts.gpu_runtime = GpuRuntimeFacts {
            driver_cuda: Some("13.0".into()),
            looked_at: Some("/data/posekit/onnxruntime-gpu".into()),
            runtime_dir: Some("/data/posekit/onnxruntime-gpu".into()),
            tensorrt_provider: true,
            missing: vec![],
            registers: Some(Ok(())),
            wsl_libcuda: true,
        };
        facts
    }

    #[test]
    fn no_driver_no_gpu_build_is_skipped() {
        assert_eq!(gpu(&fixtures::native()).status, Status::Skipped);
    }

    #[test]
    fn a_gpu_build_without_a_driver_names_what_it_lacks() {
        let mut facts = with_gpu(fixtures::native());
        facts.gpu = Probe::Absent;
        facts.gpu_runtime.missing = vec![(
            "libcuda.so.1".into(),
            "libonnxruntime_providers_cuda.so".into(),
        )];
        facts.gpu_runtime.registers =
            Some(Err("libcuda.so.1: cannot open shared object file".into()));
        let check = gpu(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(check.summary.contains("no nvidia-smi"));
        assert!(
            check.details[0].starts_with("libcuda.so.1 is missing"),
            "{:?}",
            check.details
        );
        assert!(check.details[1].contains("did not register"));
        assert!(check.fix.unwrap().contains("NVIDIA driver"));
    }

    #[test]
    fn everything_in_place_is_ready() {
        let check = gpu(&with_gpu(fixtures::native()));
        assert_eq!(check.status, Status::Ok);
        assert_eq!(
            check.summary,
            "GPU ready: 1 NVIDIA GPU, driver 580.65.06, CUDA 13.0; the CUDA provider registers"
        );
        assert!(check
            .details
            .contains(&"NVIDIA H100 80GB HBM3, 79.6 GiB".to_string()));
    }

    #[test]
    fn each_missing_library_is_named_with_its_fix() {
        let mut facts = with_gpu(fixtures::native());
        facts.gpu_runtime.missing = vec![
            (
                "libcudnn.so.9".into(),
                "libonnxruntime_providers_cuda.so".into(),
            ),
            ("libcuda.so.1".into(), "libcudart.so.13".into()),
        ];
        facts.gpu_runtime.registers =
            Some(Err("libcudnn.so.9: cannot open shared object file".into()));
        let check = gpu(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(
            check
                .summary
                .contains("not ready: libcudnn.so.9 is missing"),
            "{}",
            check.summary
        );
        assert!(check
            .details
            .iter()
            .any(|d| d.starts_with("libcuda.so.1 is missing")));
        assert!(check.details.iter().any(|d| d.contains("did not register")));
        let fix = check.fix.unwrap();
        assert!(
            fix.contains("make setup-gpu") && fix.contains("it installs libcudnn.so.9"),
            "{fix}"
        );
        assert!(
            fix.contains("NVIDIA driver"),
            "libcuda comes with the driver: {fix}"
        );
    }

    #[test]
    fn an_old_driver_and_no_gpu_build() {
        let mut facts = with_gpu(fixtures::native());
        facts.gpu_runtime.driver_cuda = Some("12.4".into());
        facts.gpu_runtime.runtime_dir = None;
        facts.gpu_runtime.registers = None;
        let check = gpu(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(
            check.details[0].contains("needs CUDA 13"),
            "{:?}",
            check.details
        );
        assert!(
            check.details[1].contains("not installed (looked in /data/posekit/onnxruntime-gpu)")
        );
        let fix = check.fix.unwrap();
        assert!(
            fix.contains("580 or newer") && fix.contains("make setup-gpu"),
            "{fix}"
        );
    }

    #[test]
    fn wsl2_without_the_windows_driver_library() {
        let mut facts = with_gpu(fixtures::wsl2());
        facts.gpu_runtime.wsl_libcuda = false;
        let check = gpu(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(check
            .summary
            .contains("/usr/lib/wsl/lib/libcuda.so is missing"));
        assert!(check.fix.unwrap().contains("on Windows"));
    }

    #[test]
    fn a_gpu_build_not_loaded_is_not_tried_and_says_how() {
        let mut facts = with_gpu(fixtures::native());
        facts.gpu_runtime.registers = None;
        let check = gpu(&facts);
        assert_eq!(check.status, Status::Ok);
        assert!(check.summary.ends_with("CUDA provider not tried"));
        assert!(
            check.details[0].contains("--ort-lib /data/posekit/onnxruntime-gpu/libonnxruntime.so")
        );
    }

    #[test]
    fn a_failing_nvidia_smi_under_wsl_points_to_windows() {
        let check = gpu(&fixtures::broken());
        assert_eq!(check.status, Status::Warning);
        assert!(check.fix.unwrap().contains("on Windows"));
    }
}
