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
    #[command(verbatim_doc_comment)]
    Process(ProcessArgs),
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Videos to process (any container and codec FFmpeg reads).
    #[arg(required = true, value_name = "VIDEO")]
    pub videos: Vec<PathBuf>,

    /// Result file (only with a single video). Default: `<video stem>.poses.jsonl` beside it.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// `video` tracks people from frame to frame and runs the detector only when needed
    /// (finds a pose in nearly every frame); `image` runs the detector on every frame.
    #[arg(long, value_enum, default_value_t = ModeArg::Video)]
    pub mode: ModeArg,

    /// Worker threads (default: the number of logical cores).
    #[arg(short, long, value_name = "N")]
    pub workers: Option<usize>,

    /// ONNX Runtime threads inside each worker.
    #[arg(long, value_name = "T", default_value_t = 1)]
    pub threads_per_worker: usize,

    /// Most people reported per frame.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_people: usize,

    /// Video mode: look for new people at least every K frames of a worker (a lost
    /// track triggers the detector at once anyway).
    #[arg(long, value_name = "K", default_value_t = 30)]
    pub detect_every: u32,

    /// Also write the video with skeletons and boxes drawn (H.264 when available).
    #[arg(long, value_name = "PATH")]
    pub render: Option<PathBuf>,

    /// Replace existing result or overlay files. Without it, only results that posekit
    /// wrote itself are replaced; anything else is left alone and the run refuses.
    #[arg(long)]
    pub overwrite: bool,

    /// Use this BlazePose detector ONNX file instead of the built-in one.
    #[arg(long, value_name = "PATH")]
    pub detector: Option<PathBuf>,

    /// Use this BlazePose landmark ONNX file instead of the built-in one.
    #[arg(long, value_name = "PATH")]
    pub landmarks: Option<PathBuf>,

    /// Also recover each person's 3D body mesh (SMPL parameters and camera) with this
    /// HMR2.0 ONNX model (export yours with scripts/export_hmr2_onnx.py; the contract
    /// is in docs/hmr2-onnx.md). Adds `"smpl"` to every person in the result.
    #[arg(long, value_name = "PATH")]
    pub hmr2: Option<PathBuf>,

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

    /// Stop after the first N frames of each video.
    #[arg(long, value_name = "N")]
    pub max_frames: Option<u64>,

    #[command(flatten)]
    pub runtime: RuntimeArgs,

    /// Print the summary as JSON on stdout (one object per video).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// ONNX Runtime shared library (libonnxruntime.so, 1.31 or newer). Without it,
    /// posekit looks at ORT_DYLIB_PATH, its data directory, next to its binary, then an
    /// installed Python onnxruntime package.
    #[arg(long, value_name = "PATH", global = true)]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Image,
    Video,
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
