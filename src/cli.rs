//! Command-line definitions (clap derive) and nothing else: what the user typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Human pose over videos, fast, in one process whose worker threads share the models.
#[derive(Debug, Parser)]
#[command(name = "posekit", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find people and their 33 BlazePose landmarks in every frame of one or more videos.
    ///
    /// Writes one JSON Lines file per video (default: `<video stem>.poses.jsonl` beside
    /// the video): a header line, one line per frame with each person's box, 33 landmarks
    /// in frame pixels (x, y, z, visibility, presence) and 33 world landmarks in metres,
    /// then a summary line. The file appears only when the run completes; after Ctrl-C
    /// the frames done so far are kept in `<stem>.poses.partial.jsonl`.
    ///
    /// Examples:
    ///   posekit process clip.mp4
    ///   posekit process clip.mp4 --render clip.overlay.mp4 --workers 2
    ///   posekit process a.mp4 b.webm --mode image --json
    ///   posekit process videos/ --recursive --out-dir results
    ///   posekit process --manifest videos.txt --out-dir results --shard auto --report results/report.jsonl
    ///
    /// A batch goes on past a failed input and exits 1 if any failed. An input whose
    /// result is already complete (same input, models and settings) is skipped with a
    /// note, so after a crash or a pre-emption the same command finishes the job;
    /// --force redoes everything. Inside a job, the default worker count is what the
    /// job was given (SLURM_CPUS_PER_TASK, the cgroup CPU quota, the affinity mask).
    #[command(verbatim_doc_comment)]
    Process(Box<ProcessArgs>),

    /// Measure throughput and speedup of worker layouts on this machine, and find the best.
    ///
    /// Runs the real `process` pipeline on the first K frames of a video for each layout
    /// (workers × ONNX Runtime threads per worker), with warm-up and repeated runs, each
    /// run in its own process so that its peak memory is its own. It also measures the
    /// models alone on frames already in memory (the ceiling) and reports how close the
    /// pipeline gets. Without VIDEO it uses the Sports2D demo clip that setup installs.
    ///
    /// Examples:
    ///   posekit bench
    ///   posekit bench clip.mp4 --frames 200 --layouts 1x1,2x1,1x2 --runs 5
    ///   posekit bench --mode image --json --plot bench.svg --export-markdown bench.md
    #[command(verbatim_doc_comment)]
    Bench(BenchArgs),

    /// Check that this machine is ready for posekit, and say exactly what to fix.
    ///
    /// Looks at the platform (native Linux, WSL1 or WSL2), memory against what the models
    /// and workers need, cores, ONNX Runtime, FFmpeg, the models, posekit.toml, the GPU,
    /// the pose service's port and disk space. Every probe has a timeout.
    ///
    /// Exit status: 0 when no check failed (warnings alone do not fail), 1 when one or
    /// more checks failed, 2 for a usage error such as an unknown --check id.
    ///
    /// Examples:
    ///   posekit doctor
    ///   posekit doctor --json
    ///   posekit doctor --check memory
    ///   posekit doctor --check service --port 8080
    #[command(verbatim_doc_comment)]
    Doctor(DoctorArgs),

    /// Recommend a worker layout (and under WSL2 a .wslconfig) for this machine; write it.
    ///
    /// Decides workers × ONNX Runtime threads per worker from the cores and the models'
    /// memory (a layout `posekit bench` saved for this machine wins), and under WSL2 the
    /// .wslconfig values memory, processors, swap, networking and autoMemoryReclaim, each
    /// with its reason. Without --write it shows the plan and the exact diff of each file
    /// it would change. With --write it edits posekit.toml and .wslconfig in place
    /// (keeping comments, order and line endings), atomically, keeping the previous file
    /// as a timestamped backup beside it.
    ///
    /// Examples:
    ///   posekit tune
    ///   posekit tune --write
    ///   posekit tune --expose-service --host-memory 32GB --json
    #[command(verbatim_doc_comment)]
    Tune(TuneArgs),

    /// Serve pose estimation over HTTP, with the models loaded once.
    ///
    /// Endpoints: GET /health; POST /v1/pose with a JPEG or PNG body answers one frame
    /// record (the `process` schema); POST /v1/jobs with a video body answers a job id,
    /// GET /v1/jobs/ID its progress and GET /v1/jobs/ID/result its JSON Lines result.
    /// A full queue answers 503 with Retry-After. SIGINT or SIGTERM stops it after the
    /// requests in flight. Binds 127.0.0.1 unless --host says otherwise.
    ///
    /// Examples:
    ///   posekit serve
    ///   posekit serve --port 8080 --workers 2
    ///   curl -H 'Content-Type: image/jpeg' --data-binary @person.jpg localhost:5000/v1/pose
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),

    /// Say where a batch stands: which inputs are done, failed, interrupted or missing.
    ///
    /// Reads the results (beside the inputs, or under --out-dir, as `process` wrote
    /// them) and the --report files, for the same inputs, manifest and --out-dir that
    /// `process` was given. A result counts as done when it is complete and records the
    /// input as it is now; the run's settings are not compared (`process` does that when
    /// it resumes). With --shards N it lists the shards with work left, ready for
    /// `sbatch --array=`.
    ///
    /// Exit status: 0 when every input is done, 1 when work is left or on error.
    ///
    /// Examples:
    ///   posekit status --manifest videos.txt --out-dir results
    ///   posekit status --manifest videos.txt --out-dir results --shards 8 --report results/report-*.jsonl
    #[command(verbatim_doc_comment)]
    Status(StatusArgs),

    /// Write a result in the formats other tools read: tidy CSV (pandas, R), OpenPose
    /// JSON (Pose2Sim, `pose_model = 'BLAZEPOSE'`), TRC markers (OpenSim), AMASS-style
    /// SMPL `.npz` and BVH animation (both from `process --hmr2` results; BVH with your
    /// own SMPL model, --smpl-model).
    ///
    /// Reads only the JSON Lines that `posekit process` wrote; a partial result (a run
    /// that did not finish) needs --partial. Writes beside the result unless -o says
    /// where: `clip.csv`, or the folders `clip_json/` (one file per frame), `clip_trc/`,
    /// `clip_amass/` and `clip_bvh/` (one file per track). Every field is described in
    /// docs/formats.md. Nothing is replaced without --overwrite.
    ///
    /// Examples:
    ///   posekit export clip.poses.jsonl --to csv
    ///   posekit export clip.poses.jsonl --to openpose -o pose/cam01_json
    ///   posekit export clip.poses.jsonl --to trc --json
    ///   posekit export clip.poses.jsonl --to amass     (a result of `process --hmr2`)
    ///   posekit export clip.poses.jsonl --to bvh --smpl-model SMPL_NEUTRAL.npz
    #[command(verbatim_doc_comment)]
    Export(ExportArgs),

    /// Show how two posekit results of the same video differ (int8 against fp32, GPU
    /// against CPU, one version against another).
    ///
    /// Reads only posekit's own JSON Lines. Frames are matched by index, persons by their
    /// landmarks. Reports the landmark distance as a share of A's landmark-box diagonal
    /// (the measure of scripts/compare_mediapipe.py) and, when both have `--hmr2` results,
    /// the SMPL rotation error in degrees per joint (from the matrices when both were
    /// written with --rotmat, else from axis-angle), MPJPE on keypoints_3d when both have
    /// them, the largest betas difference and the cam_t distance: median, p95 and max.
    ///
    /// Examples:
    ///   posekit compare clip.fp32.poses.jsonl clip.int8.poses.jsonl
    ///   posekit compare cpu.jsonl gpu.jsonl --json
    #[command(verbatim_doc_comment)]
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A result that `posekit process` wrote (`clip.poses.jsonl`).
    #[arg(value_name = "RESULT.jsonl")]
    pub result: PathBuf,

    /// The format to write.
    #[arg(long, value_name = "FORMAT")]
    pub to: ExportFormatArg,

    /// Where to write: the file (csv) or the folder (openpose, trc, amass, bvh).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Replace an existing export (in a folder, only the export's own files).
    #[arg(long)]
    pub overwrite: bool,

    /// Accept a partial result (a run that did not finish), with a warning.
    #[arg(long)]
    pub partial: bool,

    /// For --to bvh: your SMPL model as .npz (v_template, shapedirs, J_regressor,
    /// kintree_table; scripts/smpl_pkl_to_npz.py makes it from the official .pkl).
    #[arg(long, value_name = "FILE.npz")]
    pub smpl_model: Option<PathBuf>,

    /// Print what was written as JSON: {"format", "path", "files", "bytes"}.
    #[arg(long)]
    pub json: bool,
}

/// The formats of `export --to` and `process --export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// Tidy long CSV: frame,t,track_id,landmark,x,y,z,visibility,presence,wx,wy,wz.
    Csv,
    /// OpenPose JSON, one file per frame, as Pose2Sim reads it.
    Openpose,
    /// TRC marker files for OpenSim, one per track (world landmarks, Y up).
    Trc,
    /// AMASS-style SMPL .npz, one per track (needs a `process --hmr2` result).
    Amass,
    /// BVH animation, one per track (a `process --hmr2` result and --smpl-model).
    Bvh,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference result (landmark distances are relative to its boxes).
    #[arg(value_name = "A.jsonl")]
    pub a: PathBuf,

    /// The result to set against it.
    #[arg(value_name = "B.jsonl")]
    pub b: PathBuf,

    /// Print the comparison as JSON (with every joint's rotation error) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Write the plan: posekit.toml, and .wslconfig under WSL2. Without it, only show.
    #[arg(long)]
    pub write: bool,

    /// Print the plan and the files' status as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Windows programs must reach the pose service on localhost (WSL2: sets
    /// networkingMode=mirrored).
    #[arg(long)]
    pub expose_service: bool,

    /// Windows' RAM (e.g. 32GB). Needed for tune to raise a memory= cap that .wslconfig
    /// already sets, because Linux then cannot see how much Windows has.
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub host_memory: Option<u64>,

    /// posekit.toml to edit (default: $XDG_CONFIG_HOME/posekit/posekit.toml or
    /// ~/.config/posekit/posekit.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// .wslconfig to edit (default: %UserProfile%\.wslconfig, found through WSL interop).
    #[arg(long, value_name = "PATH")]
    pub wslconfig: Option<PathBuf>,

    /// Plan for the machine described in this JSON file instead of this one (tests, demos).
    #[arg(long, value_name = "FILE", hide = true)]
    pub facts: Option<PathBuf>,

    /// Seconds each probe of the machine may take (Windows interop can be slow).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, value_parser = positive_seconds)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback lets other machines in (with a warning).
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (default: [serve] port in posekit.toml, else 5000; 0 picks a free one).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Pose workers, each with its own copy of the models (default: [process] workers in
    /// posekit.toml, else the number of logical cores).
    #[arg(short, long, value_name = "N")]
    pub workers: Option<usize>,

    /// ONNX Runtime threads inside each worker.
    #[arg(long, value_name = "T", default_value_t = 1)]
    pub threads_per_worker: usize,

    /// Pose requests that may wait for a worker; beyond that the answer is 503
    /// (default: 4 per worker).
    #[arg(long, value_name = "N")]
    pub queue: Option<usize>,

    /// Video jobs that may wait behind the running one; beyond that the answer is 503.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub job_queue: usize,

    /// Largest request body in MB (images and video uploads); larger ones get 413.
    #[arg(long, value_name = "MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_body_mb: u64,

    /// Seconds a request may take, upload and inference together (408 while uploading,
    /// 504 while waiting for a worker).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,

    #[command(flatten)]
    pub pose: PoseArgs,

    /// Test hook: each pose request waits this long in its worker before inference.
    #[arg(long, value_name = "MS", default_value_t = 0, hide = true)]
    pub debug_inference_delay_ms: u64,

    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Video to measure on (default: the Sports2D demo clip from setup).
    #[arg(value_name = "VIDEO")]
    pub video: Option<PathBuf>,

    /// Frames per run: the first K of the video.
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub frames: u64,

    /// Comma-separated layouts WORKERSxTHREADS, e.g. 1x1,2x1,1x2 (default: the sensible
    /// ones for this machine's cores). The 1x1 baseline is always measured first.
    #[arg(long, value_name = "LIST")]
    pub layouts: Option<String>,

    /// Measured runs per layout.
    #[arg(long, value_name = "R", default_value_t = 3)]
    pub runs: usize,

    /// Unmeasured warm-up runs per layout.
    #[arg(long, value_name = "W", default_value_t = 1)]
    pub warmup: usize,

    /// Pipeline mode to measure (see `posekit process --help`).
    #[arg(long, value_enum, default_value_t = ModeArg::Video)]
    pub mode: ModeArg,

    #[command(flatten)]
    pub pose: PoseArgs,

    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Also write the results as a Markdown table (an existing file is kept as .bak).
    #[arg(long, value_name = "PATH")]
    pub export_markdown: Option<PathBuf>,

    /// Also draw speedup and memory against threads as SVG (an existing file is kept as .bak).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,

    /// Store the best layout for this machine and model in posekit.toml, where `process`
    /// (as its default --workers and --threads-per-worker) and `tune` pick it up.
    #[arg(long)]
    pub save: bool,

    /// The posekit.toml to save into (default: ~/.config/posekit/posekit.toml).
    #[arg(long, value_name = "PATH", requires = "save")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Videos (any container and codec FFmpeg reads) and folders. A folder is walked
    /// for videos; a folder with no videos but JPEG/PNG images is one image sequence.
    #[arg(value_name = "INPUT", required_unless_present = "manifest")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub batch: BatchArgs,

    /// Redo every input, even those whose result is already complete.
    #[arg(long)]
    pub force: bool,

    /// Take only shard I of N of the sorted input list (the inputs at positions p with
    /// p % N == I), or `auto` to read it from the job array that started posekit
    /// (Slurm, a Kubernetes Indexed Job, AWS Batch).
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,

    /// Append one JSON line per input (done, skipped or failed, with timings) to this
    /// file; `posekit status --report` reads it.
    #[arg(long, value_name = "FILE.jsonl")]
    pub report: Option<PathBuf>,

    /// Frames per second of image-sequence folders (stills carry none). Default: 30.
    #[arg(long, value_name = "FPS", value_parser = positive_fps)]
    pub fps: Option<f64>,

    /// Result file (only with a single input). Default: `<video stem>.poses.jsonl` beside
    /// the video, or under --out-dir.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// `video` tracks people from frame to frame and runs the detector only when needed
    /// (finds a pose in nearly every frame); `image` runs the detector on every frame.
    #[arg(long, value_enum, default_value_t = ModeArg::Video)]
    pub mode: ModeArg,

    /// Worker threads. Default: the best layout `posekit bench --save` stored for this
    /// machine, else `[process] workers` in posekit.toml, else the number of logical cores.
    #[arg(short, long, value_name = "N")]
    pub workers: Option<usize>,

    /// ONNX Runtime threads inside each worker. Default: as for --workers, else 1.
    #[arg(long, value_name = "T")]
    pub threads_per_worker: Option<usize>,

    #[command(flatten)]
    pub pose: PoseArgs,

    /// Stop after the first K frames of each video.
    #[arg(long, value_name = "K")]
    pub max_frames: Option<u64>,

    /// Also write the video with skeletons and boxes drawn (H.264 when available).
    #[arg(long, value_name = "PATH")]
    pub render: Option<PathBuf>,

    /// After each input's result is complete, also export it (as `posekit export --to`
    /// does) beside the result: csv, openpose, trc, amass, comma-separated. An export
    /// that already exists is kept unless --overwrite.
    #[arg(
        long,
        value_name = "FORMAT[,FORMAT]",
        value_enum,
        value_delimiter = ','
    )]
    pub export: Vec<ExportFormatArg>,

    /// Replace existing result or overlay files. Without it, only results that posekit
    /// wrote itself are replaced; anything else is left alone and the run refuses.
    #[arg(long)]
    pub overwrite: bool,

    /// With --hmr2: also write the rotation matrices, not only axis-angle.
    #[arg(long, requires = "hmr2")]
    pub rotmat: bool,

    /// With --hmr2: also write the SMPL arrays (and vertices, when the model has them)
    /// to this NumPy .npz, one row per person and frame.
    #[arg(long, value_name = "PATH", requires = "hmr2")]
    pub npz: Option<PathBuf>,

    /// How workers share HMR2's weights (for measuring; the default was measured best).
    #[arg(long, value_enum, default_value_t = Hmr2WeightsArg::Shared, hide = true)]
    pub hmr2_weights: Hmr2WeightsArg,

    #[command(flatten)]
    pub tracks: TrackArgs,

    #[command(flatten)]
    pub runtime: RuntimeArgs,

    /// Print the summary as JSON on stdout (one object per video).
    #[arg(long)]
    pub json: bool,
}

/// The inputs of a batch beyond those named on the command line, and where their results
/// go; the same in `process` and `status`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Read the inputs from this file: one path per line (`#` comments), or a .csv /
    /// .jsonl with a `path` column (and optionally `output`). Relative paths are read
    /// from the manifest's folder.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// Walk folders into their subfolders too.
    #[arg(short, long)]
    pub recursive: bool,

    /// Video extensions a folder walk takes, comma-separated (default: mp4, m4v, mov,
    /// avi, mkv, webm, mpg, mpeg, wmv, flv, ts, mts, m2ts, 3gp, ogv).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub ext: Vec<String>,

    /// Write results under this folder, mirroring each input's relative path (a
    /// manifest's paths relative to it, a walked folder's relative to that folder),
    /// instead of beside the inputs: for read-only datasets.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// The shard count, where the scheduler gives none (`--shard auto` under Kubernetes)
    /// or one that does not match (a Slurm array that is not 0 to N-1). In `status`: the
    /// count the batch was submitted with, to list the shards with work left.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub shards: Option<u64>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Videos and folders of the batch, as given to `process`.
    #[arg(value_name = "INPUT", required_unless_present = "manifest")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub batch: BatchArgs,

    /// Reports that `process --report` wrote (several allowed): they tell failed inputs
    /// from missing ones.
    #[arg(long, value_name = "FILE.jsonl", num_args = 1..)]
    pub report: Vec<PathBuf>,

    /// Print the status as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Run only this check (see --list).
    #[arg(long, value_name = "ID", value_parser = clap::builder::PossibleValuesParser::new(crate::doctor::CHECK_IDS))]
    pub check: Option<String>,

    /// List the checks and exit.
    #[arg(long, conflicts_with_all = ["check", "json"])]
    pub list: bool,

    /// Print the report as JSON: {"ok", "checks": [{"id", "status", "summary", "details", "fix"}]}.
    #[arg(long)]
    pub json: bool,

    /// Host of the pose service to probe.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Port of the pose service to probe (default: [serve] port in posekit.toml, else 5000).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Seconds each probe may take (wsl.exe, nvidia-smi, the service) before it is
    /// reported as timed out.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, value_parser = positive_seconds)]
    pub timeout: f64,

    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// The models and how many people they look for; the same in `process`, `bench` and
/// `serve`.
#[derive(Debug, Args)]
pub struct PoseArgs {
    /// Most people reported per frame (or image).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_people: usize,

    /// Video mode: look for new people at least every K frames of a worker (a lost
    /// track triggers the detector at once anyway).
    #[arg(long, value_name = "K", default_value_t = 30)]
    pub detect_every: u32,

    /// What finds people for the landmark model. `blazepose` is MediaPipe's own detector,
    /// built for one prominent person (the MediaPipe-faithful path); `movenet` is MoveNet
    /// MultiPose Lightning, which finds up to six people. In video mode the detector only
    /// looks for newcomers and lost people; tracking does the rest.
    #[arg(long, value_enum, default_value_t = PersonDetectorArg::Blazepose)]
    pub person_detector: PersonDetectorArg,

    /// Use this person-detector ONNX file instead of the built-in one (a BlazePose
    /// detector, or a MoveNet MultiPose model; told apart by their tensors).
    #[arg(long, value_name = "PATH", conflicts_with = "person_detector")]
    pub detector: Option<PathBuf>,

    /// BlazePose's landmark model: MediaPipe's `model_complexity` 0 (`lite`, fastest), 1
    /// (`full`, the default) or 2 (`heavy`, most accurate and about 3× slower than full).
    #[arg(long, value_enum, default_value_t = LandmarkModelArg::Full)]
    pub landmark_model: LandmarkModelArg,

    /// Use this BlazePose landmark ONNX file instead of the built-in one.
    #[arg(long, value_name = "PATH", conflicts_with = "landmark_model")]
    pub landmarks: Option<PathBuf>,

    /// Also recover each person's 3D body mesh (SMPL parameters and camera) with this
    /// HMR2.0 ONNX model (export yours with scripts/export_hmr2_onnx.py; the contract
    /// is in docs/hmr2-onnx.md). Adds `"smpl"` to every person. One copy of its weights
    /// serves every worker. `serve` also reads `[models] hmr2` from posekit.toml.
    #[arg(long, value_name = "PATH")]
    pub hmr2: Option<PathBuf>,

    /// Where HMR2 runs. `auto`: the GPU when ONNX Runtime's CUDA provider registers,
    /// else the CPU (and it says so). `cuda` or `tensorrt`: the GPU or an error that names
    /// what is missing, never a silent fall back to the CPU (needs the GPU build:
    /// `make setup-gpu`, then --ort-lib; see docs/gpu.md). BlazePose stays on the CPU.
    /// Default: `[process] device` in posekit.toml, else auto.
    #[arg(long, value_enum, value_name = "DEVICE")]
    pub device: Option<DeviceArg>,

    /// Most HMR2 crops per model call, gathered from consecutive frames in frame order.
    /// A GPU is filled by batches; the CPU gains nothing from them. Default: 1 on the
    /// CPU, 8 on a GPU.
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub hmr2_batch: Option<u16>,
}

/// `--device`: see `engine::device`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
    #[value(name = "tensorrt")]
    TensorRt,
}

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// ONNX Runtime shared library (libonnxruntime.so, 1.31 or newer). Without it,
    /// posekit looks at ORT_DYLIB_PATH, its data directory, next to its binary, then an
    /// installed Python onnxruntime package.
    #[arg(long, value_name = "PATH", global = true)]
    pub ort_lib: Option<PathBuf>,
}

/// People over time: identities, smoothing and gaps (`docs/tracking.md`).
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// A person who leaves the view or is hidden for up to this many seconds, and comes
    /// back near where they were or where their motion points, keeps their `track_id`;
    /// past it, a new ID. Converted to frames with the video's own frame rate.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5, value_parser = gap_seconds)]
    pub max_gap: f64,

    /// Landmark smoothing per person: `causal` applies MediaPipe's own
    /// `smooth_landmarks=True` filters as frames come; `offline` filters each person's
    /// whole track forward and backward (no lag, least jitter; the results are written
    /// when the video ends, and the overlay shows the landmarks before this filter).
    /// Default: offline in video mode, none in image mode.
    #[arg(long, value_enum, value_name = "HOW")]
    pub smooth: Option<SmoothArg>,

    /// With `--smooth offline`: the low-pass cutoff in Hz, below half the frame rate.
    /// Default: 6, or 0.4 × the frame rate when that is lower.
    #[arg(long, value_name = "HZ")]
    pub cutoff: Option<f64>,

    /// Within a track, draw in a person missing for up to this many seconds by linear
    /// interpolation, marked `"filled": true` (never counted as detections). 0 is off.
    /// Results (and the overlay) are held back by that much.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0, value_parser = gap_seconds)]
    pub fill_gaps: f64,

    /// With --hmr2: `per-track` gives every frame of a person the median of their
    /// `betas` over the track (one person, one body shape); `per-frame` keeps HMR2's
    /// per-frame estimate. per-track results are written when the video ends.
    #[arg(long, value_enum, default_value_t = ShapeArg::PerFrame, requires = "hmr2")]
    pub shape: ShapeArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShapeArg {
    PerFrame,
    PerTrack,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SmoothArg {
    /// Landmarks as the model gave them.
    None,
    /// MediaPipe's smooth_landmarks=True filters, per person, as frames come.
    Causal,
    /// Zero-phase Butterworth over each person's whole track.
    Offline,
}

/// Seconds of a gap: 0 or more, finite, at most a minute.
fn gap_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.0..=60.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 60"
        )),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LandmarkModelArg {
    Lite,
    Full,
    Heavy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PersonDetectorArg {
    Blazepose,
    Movenet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Image,
    Video,
}

/// A size as `.wslconfig` writes them: `32GB`, `16G`, `8192MB`.
fn size_arg(text: &str) -> Result<u64, String> {
    crate::system::wslconfig::parse_size(text)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a size such as 32GB"))
}

/// A frame rate: positive and finite.
fn positive_fps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(fps) if fps > 0.0 && fps.is_finite() && fps <= 1000.0 => Ok(fps),
        _ => Err(format!("{text:?} is not a frame rate between 0 and 1000")),
    }
}

/// A duration in seconds: positive, finite, and at most a minute (a probe that needs more
/// is as good as hung).
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 60.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 60"
        )),
    }
}

/// Layouts of a big model's weights across workers (see `engine::sharing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Hmr2WeightsArg {
    /// One session, all workers' threads, taken in turns.
    Shared,
    /// A session per worker over one prepacked-weights container.
    Prepacked,
    /// A session (and a copy of the weights) per worker.
    PerWorker,
}
