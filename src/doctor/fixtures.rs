//! Hand-made machines for the checks' unit tests: a healthy native Linux box, a WSL2
//! laptop with a `.wslconfig`, and a machine where everything is wrong. Each test starts
//! from one of these and changes the one fact it is about.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::engine::probe::RuntimeInfo;
use crate::system::ffmpeg::{FfmpegVersions, LibraryVersion};
use crate::system::platform::PlatformFacts;
use crate::system::resources::{CpuFacts, DiskFacts, MemoryFacts, Mount};
use crate::system::service::{Connect, ServiceFacts};
use crate::system::wsl::{Signals, WindowsEnv, WslVersion};
use crate::system::{
    wslconfig, BuiltinModel, ConfigFacts, ModelFacts, Probe, RuntimeFacts, RuntimeState,
    SystemFacts, WslConfigFile,
};

pub const GIB: u64 = 1 << 30;

/// `.wslconfig` with every limit doctor reads (a fixture shared with tune's tests).
pub const WSLCONFIG_LIMITS: &str = include_str!("../../tests/data/doctor/wslconfig-limits.ini");
/// `.wslconfig` that sets nothing doctor cares about.
pub const WSLCONFIG_PLAIN: &str = include_str!("../../tests/data/doctor/wslconfig-plain.ini");

pub fn native() -> SystemFacts {
    SystemFacts {
        platform: PlatformFacts {
            distro: Some("Debian GNU/Linux 12 (bookworm)".into()),
            kernel: "6.1.0-31-cloud-amd64".into(),
            signals: Signals::default(),
            wsl_version: Probe::Absent,
            windows: Probe::Absent,
        },
        memory: MemoryFacts {
            total: 24 * GIB,
            available: 20 * GIB,
            swap_total: 0,
            cgroup_limit: None,
        },
        cpu: CpuFacts {
            logical: 2,
            physical: Some(1),
            usable: 2,
            usable_source: "the affinity mask",
        },
        wslconfig: Probe::Absent,
        onnxruntime: RuntimeFacts {
            searched: vec!["/home/ana/.local/share/posekit/onnxruntime/libonnxruntime.so".into()],
            state: RuntimeState::Loaded {
                library: "/home/ana/.local/share/posekit/onnxruntime/libonnxruntime.so".into(),
                info: RuntimeInfo {
                    version: Some("1.31.1".into()),
                    providers: vec!["CPUExecutionProvider".into()],
                },
            },
        },
        ffmpeg: FfmpegVersions {
            release: "5.1.6-0+deb12u1".into(),
            libraries: vec![LibraryVersion {
                name: "avcodec",
                built: [59, 37, 100],
                running: [59, 37, 100],
            }],
        },
        models: ModelFacts {
            builtin: vec![BuiltinModel {
                name: "pose_detection.onnx".into(),
                bytes: 11_921_996,
                expected_sha256: Some("ad97".into()),
                actual_sha256: "ad97".into(),
            }],
            configured: vec![],
        },
        config: ConfigFacts {
            path: Some("/home/ana/.config/posekit/posekit.toml".into()),
            loaded: Ok(None),
        },
        gpu: Probe::Absent,
        gpu_runtime: Default::default(),
        service: ServiceFacts {
            host: "127.0.0.1".into(),
            port: 5000,
            expected: false,
            connect: Connect::Refused,
            health: Probe::Absent,
        },
        disk: DiskFacts {
            path: "/home/ana/videos".into(),
            mount: Some(Mount {
                mount_point: "/".into(),
                file_system: "ext4".into(),
            }),
            space: Probe::Found((200 * GIB, 120 * GIB)),
        },
    }
}

/// A 16 GB Windows laptop (8 logical processors) running Ubuntu on WSL2, with a
/// `.wslconfig` that caps WSL at 8 GB and 4 processors and mirrors networking.
pub fn wsl2() -> SystemFacts {
    let mut facts = native();
    facts.platform = PlatformFacts {
        distro: Some("Ubuntu 22.04.4 LTS".into()),
        kernel: "5.15.167.4-microsoft-standard-WSL2".into(),
        signals: Signals {
            distro_name: Some("Ubuntu-22.04".into()),
            interop_env: true,
            run_wsl: true,
            binfmt_interop: true,
            wslinfo: false,
        },
        wsl_version: Probe::Found(WslVersion::Store {
            wsl: "2.3.26.0".into(),
            kernel: Some("5.15.167.4-1".into()),
            windows: Some("10.0.22631.4460".into()),
        }),
        windows: Probe::Found(WindowsEnv {
            user_profile: "C:\\Users\\ana".into(),
            logical_processors: Some(8),
        }),
    };
    facts.memory = MemoryFacts {
        total: 8 * GIB - 300 * (1 << 20),
        available: 7 * GIB,
        swap_total: 2 * GIB,
        cgroup_limit: None,
    };
    facts.cpu = CpuFacts {
        logical: 4,
        physical: Some(2),
        usable: 4,
        usable_source: "the affinity mask",
    };
    facts.wslconfig = Probe::Found(WslConfigFile {
        path: "/mnt/c/Users/ana/.wslconfig".into(),
        config: Some(wslconfig::parse(WSLCONFIG_LIMITS)),
    });
    facts
}

/// WSL2 with no `.wslconfig` at all: WSL's defaults.
pub fn wsl2_defaults() -> SystemFacts {
    let mut facts = wsl2();
    facts.wslconfig = Probe::Found(WslConfigFile {
        path: "/mnt/c/Users/ana/.wslconfig".into(),
        config: None,
    });
    facts.cpu.logical = 8;
    facts.cpu.usable = 8;
    facts
}

/// Everything that can be wrong at once.
pub fn broken() -> SystemFacts {
    let mut facts = wsl2();
    facts.platform.kernel = "4.4.0-19041-Microsoft".into();
    facts.platform.signals.interop_env = false;
    facts.platform.signals.run_wsl = false;
    facts.platform.wsl_version = Probe::timed_out("wsl.exe --version", Duration::from_secs(3));
    facts.memory.total = GIB / 2;
    facts.memory.available = GIB / 4;
    facts.onnxruntime.state = RuntimeState::NotFound;
    facts.models.builtin[0].actual_sha256 = "0000".into();
    facts.config.loaded = Ok(Some(Config {
        workers: Some(16),
        models: [("hmr2".to_string(), PathBuf::from("/models/hmr2.onnx"))].into(),
        serve_port: Some(5000),
        ..Config::default()
    }));
    facts.models.configured = vec![crate::system::ConfiguredModel {
        name: "hmr2".into(),
        path: "/models/hmr2.onnx".into(),
        bytes: Err("No such file or directory (os error 2)".into()),
    }];
    facts.service.expected = true;
    facts.gpu = Probe::Failed {
        probe: "nvidia-smi --query-gpu".into(),
        reason: "NVIDIA-SMI has failed".into(),
    };
    facts.disk.space = Probe::Found((200 * GIB, 50 << 20));
    facts
}
