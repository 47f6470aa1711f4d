//! The real [`Runner`]: the pipeline as a child `posekit process` (so each run's peak
//! memory is its own), and the models-only ceiling in this process: the very worker loop
//! of the pipeline ([`process_video`]), fed from frames decoded up front and writing
//! nowhere, so the two differ only by decoding and writing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use super::layout::Layout;
use super::{BenchError, PipelineRun, Runner};
use crate::engine::{Engine, ModelSource};
use crate::image::RgbImage;
use crate::media::decode::{Frame, SourceError, SourceEvent, VideoInfo, VideoSource};
use crate::output::wire::Stages;
use crate::pipeline::mesh::Hmr2Options;
use crate::pipeline::{load_worker_models, process_video, FrameSource, Mode, RunOptions};
use crate::tracking::TrackingOptions;

/// Memory for the frames the models-only ceiling runs on. The ceiling must see the very
/// frames the pipeline sees (a frame with two people costs twice one with one), so all K
/// are decoded up front when they fit: 2 GiB holds about 400 frames at 1768×994. Past
/// that, the first frames are cycled through, and the report says so.
const CEILING_MEMORY: u64 = 2 << 30;

/// What every run shares.
pub struct RunSettings {
    pub video: PathBuf,
    pub frames: u64,
    pub mode: Mode,
    pub max_people: usize,
    pub detect_every: u32,
    pub detector: ModelSource,
    pub landmarks: ModelSource,
    /// The HMR2 stage, when benchmarked (`--hmr2`).
    pub hmr2: Option<Hmr2Options>,
    /// Passed on to the child runs, so they load the same ONNX Runtime.
    pub ort_lib: Option<PathBuf>,
    /// Model files given by the user (not the built-in ones), passed on likewise.
    pub model_args: Vec<(String, PathBuf)>,
    /// Other flags passed on to the child runs (`--device`, `--hmr2-batch`).
    pub extra_args: Vec<String>,
}

pub struct RealRunner<'e> {
    settings: RunSettings,
    engine: &'e Engine,
    exe: PathBuf,
    scratch: tempfile::TempDir,
    frames: Vec<Arc<RgbImage>>,
    info: VideoInfo,
}

impl<'e> RealRunner<'e> {
    /// Decodes the first frames for the ceiling once, up front.
    pub fn new(settings: RunSettings, engine: &'e Engine) -> Result<Self, BenchError> {
        let exe = std::env::current_exe().map_err(BenchError::CurrentExe)?;
        let (frames, info) = decode_first(&settings.video, settings.frames, CEILING_MEMORY)?;
        if (frames.len() as u64) < settings.frames {
            eprintln!(
                "bench: the models-only ceiling cycles through the first {} frames (memory)",
                frames.len()
            );
        }
        Ok(RealRunner {
            settings,
            engine,
            exe,
            scratch: tempfile::tempdir().map_err(BenchError::Scratch)?,
            frames,
            info,
        })
    }

    fn child_command(&self, layout: Layout) -> Command {
        let s = &self.settings;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("process")
            .arg(&s.video)
            .arg("-o")
            .arg(self.scratch.path().join("run.poses.jsonl"))
            // `--force`: every run must do the work, not find the previous run's result
            // complete and skip it.
            .args(["--overwrite", "--force", "--json", "--mode", s.mode.name()])
            .args(["--max-frames", &s.frames.to_string()])
            .args(["--workers", &layout.workers.to_string()])
            .args([
                "--threads-per-worker",
                &layout.threads_per_worker.to_string(),
            ])
            .args(["--max-people", &s.max_people.to_string()])
            .args(["--detect-every", &s.detect_every.to_string()]);
        if let Some(lib) = &s.ort_lib {
            cmd.arg("--ort-lib").arg(lib);
        }
        for (flag, path) in &s.model_args {
            cmd.arg(flag).arg(path);
        }
        cmd.args(&s.extra_args);
        cmd
    }
}

impl Runner for RealRunner<'_> {
    fn pipeline(&mut self, layout: Layout) -> Result<PipelineRun, BenchError> {
        let output = self
            .child_command(layout)
            .output()
            .map_err(BenchError::Spawn)?;
        if !output.status.success() {
            return Err(BenchError::ChildFailed {
                layout,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        parse_summary(&output.stdout)
    }

    fn models_only(&mut self, layout: Layout) -> Result<f64, BenchError> {
        let s = &self.settings;
        let mut models = load_worker_models(
            self.engine,
            &s.detector,
            &s.landmarks,
            s.hmr2.as_ref(),
            layout.workers,
            layout.threads_per_worker,
        )?;
        let mut source = MemorySource {
            info: self.info.clone(),
            frames: &self.frames,
            next: 0,
            total: s.frames,
        };
        let options = RunOptions {
            mode: s.mode,
            max_people: s.max_people,
            detect_every: s.detect_every,
            max_frames: Some(s.frames),
            progress: false,
            frames_done: None,
            hmr2_batch: models.hmr2_batch,
            // The ceiling measures the models; the frame-ordered stages are cheap and
            // timed in every summary's `track_s`.
            tracking: TrackingOptions::default(),
        };
        let started = Instant::now();
        let report = process_video(
            &mut models.workers,
            &mut source,
            Vec::new(),
            &options,
            &AtomicBool::new(false),
        )?;
        Ok(report.summary.frames as f64 / started.elapsed().as_secs_f64())
    }
}

/// The frames decoded up front, handed out in order and cycled through when there are
/// fewer than asked for; shared, so handing one out copies nothing.
struct MemorySource<'a> {
    info: VideoInfo,
    frames: &'a [Arc<RgbImage>],
    next: u64,
    total: u64,
}

impl FrameSource for MemorySource<'_> {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        if self.next >= self.total || self.frames.is_empty() {
            return None;
        }
        let index = self.next;
        self.next += 1;
        let image = Arc::clone(&self.frames[(index % self.frames.len() as u64) as usize]);
        Some(Ok(SourceEvent::Frame(Frame {
            index,
            t: index as f64 / self.info.fps.max(1.0),
            image,
            picture: None,
        })))
    }
}

/// The first `count` decodable frames of `video`, as many as fit in `memory` bytes.
fn decode_first(
    video: &Path,
    count: u64,
    memory: u64,
) -> Result<(Vec<Arc<RgbImage>>, VideoInfo), BenchError> {
    let mut source = VideoSource::open(video)?;
    let info = source.info().clone();
    let frame_bytes = (u64::from(info.width) * u64::from(info.height) * 3).max(1);
    let count = count.min((memory / frame_bytes).max(1));
    let mut frames = Vec::new();
    while (frames.len() as u64) < count {
        match source.next_event() {
            Some(Ok(SourceEvent::Frame(frame))) => frames.push(frame.image),
            Some(Ok(SourceEvent::Skipped { .. })) => {}
            Some(Err(e)) => return Err(e.into()),
            None => break,
        }
    }
    if frames.is_empty() {
        return Err(BenchError::NoFrames {
            video: video.to_path_buf(),
        });
    }
    Ok((frames, info))
}

/// Reads the `--json` line `posekit process` prints.
fn parse_summary(stdout: &[u8]) -> Result<PipelineRun, BenchError> {
    let value: serde_json::Value = serde_json::from_slice(stdout).map_err(BenchError::NoSummary)?;
    // A skipped or failed run has no summary; timing it would report 0 fps.
    if value["status"] != "done" {
        return Err(BenchError::NotRun {
            status: value["status"].to_string(),
            reason: value["reason"]
                .as_str()
                .or(value["error"].as_str())
                .unwrap_or("no reason given")
                .to_string(),
        });
    }
    let s = &value["summary"];
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let stages = &s["stages"];
    Ok(PipelineRun {
        frames: s["frames"].as_u64().unwrap_or(0),
        fps: num(&s["fps"]),
        peak_rss_mib: num(&s["peak_rss_mib"]),
        stages: Stages {
            decode_s: num(&stages["decode_s"]),
            detect_s: num(&stages["detect_s"]),
            landmarks_s: num(&stages["landmarks_s"]),
            write_s: num(&stages["write_s"]),
            render_s: num(&stages["render_s"]),
            hmr2_s: num(&stages["hmr2_s"]),
            ..Stages::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_process_summary() {
        let line = br#"{"output":"x","render":null,"status":"done","summary":{"frames":10,"fps":50.5,"peak_rss_mib":300.0,"stages":{"decode_s":0.1,"detect_s":0.2,"landmarks_s":0.3,"write_s":0.01,"render_s":0.0}},"video":"v"}"#;
        let run = parse_summary(line).unwrap();
        assert_eq!((run.frames, run.fps, run.peak_rss_mib), (10, 50.5, 300.0));
        assert_eq!(run.stages.landmarks_s, 0.3);
        assert!(parse_summary(b"oops").is_err());
        let skipped = br#"{"output":"x","reason":"its result is complete","status":"skipped"}"#;
        let err = parse_summary(skipped).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"posekit process did not run the frames (status "skipped", its result is complete)"#
        );
    }
}
