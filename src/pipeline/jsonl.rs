//! The JSON Lines result format: wire structs and the writer that keeps them safe.
//!
//! A result file is one JSON object per line:
//!
//! 1. a [`Header`] (`"type": "header"`): posekit's version, the source video, the models
//!    (name and sha256) and the settings used;
//! 2. one [`FrameRecord`] (`"type": "frame"`) per decoded frame, in frame order, with the
//!    persons found: box and landmarks in pixels of the original (rotated) frame, world
//!    landmarks in metres, and with `--hmr2` an [`SmplRecord`] under `"smpl"`;
//! 3. a [`Summary`] (`"type": "summary"`): counts and timing.
//!
//! The writer flushes after every frame so that a crash keeps finished work, and follows
//! the rules of [`crate::files`]: a temporary beside the real target, renamed when
//! complete; a `.partial` name (never a user's file) when interrupted.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::{partial_destination, resolve_for_writing, FileError, Resolved, TempFile};
use crate::models::hmr2::Smpl;
use crate::pose::Person;

/// First line: what produced this file and from what.
#[derive(Debug, Serialize)]
pub struct Header<'a, S: Serialize> {
    /// Always `"header"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// posekit's version.
    pub posekit: &'static str,
    /// The video, as opened.
    pub source: &'a S,
    /// The models used, in pipeline order.
    pub models: Vec<ModelRef>,
    /// The settings that shaped the result.
    pub settings: &'a Settings,
}

/// A model as named in the header.
#[derive(Clone, Debug, Serialize)]
pub struct ModelRef {
    /// File name, or the built-in model's name.
    pub name: String,
    /// sha256 of the ONNX bytes, hex.
    pub sha256: String,
}

/// Settings that change the result, recorded so that a run can be repeated.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// `"image"` (detector on every frame) or `"video"` (tracking).
    pub mode: &'static str,
    /// Worker threads.
    pub workers: usize,
    /// ONNX Runtime intra-op threads per worker.
    pub threads_per_worker: usize,
    /// Most persons reported per frame.
    pub max_people: usize,
    /// In video mode, the detector runs at least every this many frames of a worker.
    pub detect_every: u32,
    /// With `--hmr2`: how the workers share its weights (`shared`, `prepacked`, `per-worker`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmr2_weights: Option<&'static str>,
}

/// One frame's persons.
#[derive(Debug, Serialize)]
pub struct FrameRecord<'a> {
    /// Always `"frame"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Index among decoded frames, from 0, in presentation order.
    pub frame: u64,
    /// Presentation time in seconds.
    pub t: f64,
    /// Persons found, best first.
    pub persons: Vec<PersonRecord<'a>>,
}

/// One person, as written.
#[derive(Debug, Serialize)]
pub struct PersonRecord<'a> {
    /// x1, y1, x2, y2 in frame pixels.
    pub bbox: &'a [f32; 4],
    /// Pose presence, 0..1.
    pub score: f32,
    /// 33 × [x px, y px, z (x's scale), visibility, presence].
    pub keypoints: &'a [[f32; 5]],
    /// 33 × [x, y, z] in metres, hip-centred.
    pub world: &'a [[f32; 3]],
    /// HMR2 mesh recovery, when `--hmr2` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smpl: Option<SmplRecord<'a>>,
}

/// One person's SMPL parameters from HMR2 (`docs/hmr2-onnx.md`).
#[derive(Debug, Serialize)]
pub struct SmplRecord<'a> {
    /// Root rotation, axis-angle (unit axis × radians).
    pub global_orient: [f32; 3],
    /// 23 body joints, axis-angle, SMPL order.
    pub body_pose: Vec<[f32; 3]>,
    /// With `--rotmat`: the root rotation matrix, [1][3][3].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_orient_rotmat: Option<[&'a [[f32; 3]; 3]; 1]>,
    /// With `--rotmat`: 23 rotation matrices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_pose_rotmat: Option<&'a [[[f32; 3]; 3]]>,
    /// 10 SMPL shape coefficients.
    pub betas: &'a [f32; 10],
    /// The crop's weak-perspective camera (s, tx, ty).
    pub pred_cam: &'a [f32; 3],
    /// Body translation in the full frame's camera (metres, SMPL units).
    pub cam_t: &'a [f32; 3],
    /// Focal length in pixels of that camera; principal point at the frame centre.
    pub focal_length: f32,
    /// Centre of the square the crop came from, frame pixels.
    pub box_center: &'a [f32; 2],
    /// Side of that square, frame pixels.
    pub box_size: f32,
    /// The model's 3D keypoints, when it has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keypoints_3d: Option<&'a [[f32; 3]]>,
}

impl<'a> SmplRecord<'a> {
    pub fn new(smpl: &'a Smpl, rotmat: bool) -> Self {
        SmplRecord {
            global_orient: smpl.global_orient_aa(),
            body_pose: smpl.body_pose_aa(),
            global_orient_rotmat: rotmat.then_some([&smpl.global_orient]),
            body_pose_rotmat: rotmat.then_some(&smpl.body_pose[..]),
            betas: &smpl.betas,
            pred_cam: &smpl.pred_cam,
            cam_t: &smpl.cam_t,
            focal_length: smpl.focal_length,
            box_center: &smpl.crop.center,
            box_size: smpl.crop.size,
            keypoints_3d: smpl.keypoints_3d.as_deref(),
        }
    }
}

impl<'a> FrameRecord<'a> {
    pub fn new(frame: u64, t: f64, persons: &'a [Person]) -> Self {
        FrameRecord {
            kind: "frame",
            frame,
            t,
            persons: persons
                .iter()
                .map(|p| PersonRecord {
                    bbox: &p.bbox,
                    score: p.score,
                    keypoints: &p.keypoints,
                    world: &p.world,
                    smpl: None,
                })
                .collect(),
        }
    }

    /// Adds each person's HMR2 result; `smpl` is parallel to the persons.
    pub fn with_smpl(mut self, smpl: &'a [Smpl], rotmat: bool) -> Self {
        for (person, s) in self.persons.iter_mut().zip(smpl) {
            person.smpl = Some(SmplRecord::new(s, rotmat));
        }
        self
    }
}

/// Last line: what the run did. `--json` prints the same object on stdout.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Always `"summary"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Frames decoded and processed.
    pub frames: u64,
    /// Frames that could not be decoded (corrupt or truncated data); skipped.
    pub failed_frames: u64,
    /// Frames with at least one person.
    pub frames_with_person: u64,
    /// Persons found, summed over frames.
    pub persons: u64,
    /// Wall-clock seconds from the first decoded frame to the last result written.
    pub elapsed_s: f64,
    /// `frames / elapsed_s`.
    pub fps: f64,
    /// True when Ctrl-C stopped the run early.
    pub interrupted: bool,
    /// The process's peak resident memory so far, in MiB (Linux; absent elsewhere).
    pub peak_rss_mib: Option<f64>,
    /// Seconds spent in each stage, summed over frames (and so over threads).
    pub stages: Stages,
}

/// Seconds per pipeline stage. Stages run on different threads at once, so their sum
/// exceeds the wall-clock time when the work is parallel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stages {
    /// Decoding and colour conversion (the decoder thread).
    pub decode_s: f64,
    /// The person detector, pre- and post-processing included (workers).
    pub detect_s: f64,
    /// The landmark model, crop and decoding included (workers).
    pub landmarks_s: f64,
    /// HMR2 mesh recovery, crops and waiting for a shared model included (workers).
    pub hmr2_s: f64,
    /// Writing JSON Lines (the writer).
    pub write_s: f64,
    /// Drawing and encoding the overlay video (the writer).
    pub render_s: f64,
}

impl Stages {
    pub fn add(&mut self, other: &Stages) {
        self.decode_s += other.decode_s;
        self.detect_s += other.detect_s;
        self.landmarks_s += other.landmarks_s;
        self.hmr2_s += other.hmr2_s;
        self.write_s += other.write_s;
        self.render_s += other.render_s;
    }
}

/// Writes a result file safely; see the module docs.
pub struct JsonlWriter {
    target: Resolved,
    out: BufWriter<File>,
    /// Declared after `out`, so the file is closed before the temporary is removed.
    temp: TempFile,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write results to {path}: {source}\nFix: choose a writable place with -o PATH")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("could not encode a result line: {0}")]
    Encode(#[from] serde_json::Error),
}

impl JsonlWriter {
    /// Opens a temporary file beside `target`; fails early when the folder is unwritable.
    pub fn create(target: &Path) -> Result<Self, WriteError> {
        let target = resolve_for_writing(target)?;
        let temp = TempFile::beside(&target.real);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(temp.path())
            .map_err(|source| WriteError::Io {
                path: target.given.clone(),
                source,
            })?;
        Ok(JsonlWriter {
            target,
            out: BufWriter::new(file),
            temp,
        })
    }

    /// Writes one line and flushes it, so finished frames survive a crash.
    pub fn line<T: Serialize>(&mut self, value: &T) -> Result<(), WriteError> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out
            .write_all(b"\n")
            .and_then(|_| self.out.flush())
            .map_err(|source| self.io_error(source))
    }

    /// Moves the finished file into place; returns where it went. An interrupted run goes
    /// to a `.partial.jsonl` name and leaves any complete earlier result untouched. A
    /// writer dropped without `finish` (an error mid-run) leaves no temporary behind.
    pub fn finish(self, interrupted: bool) -> Result<PathBuf, WriteError> {
        let JsonlWriter { target, out, temp } = self;
        let io_error = |path: &Path, source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        out.into_inner()
            .map_err(|e| io_error(&target.given, e.into_error()))?;
        let (dest, shown) = match interrupted {
            true => {
                let partial = partial_destination(&target.real, is_posekit_result);
                (partial.clone(), partial)
            }
            false => (target.real.clone(), target.given.clone()),
        };
        temp.persist(&dest).map_err(|e| io_error(&shown, e))?;
        Ok(shown)
    }

    fn io_error(&self, source: std::io::Error) -> WriteError {
        WriteError::Io {
            path: self.target.given.clone(),
            source,
        }
    }
}

/// True when `path` starts with a posekit header, i.e. is a result posekit can
/// regenerate and may replace; any other existing file is the user's and is kept.
pub fn is_posekit_result(path: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file.take(64 * 1024))
        .read_line(&mut first)
        .is_err()
    {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&first)
        .map(|v| v["type"] == "header" && v["posekit"].is_string())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_file_replaces_nothing_until_finish() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.jsonl");
        let mut w = JsonlWriter::create(&target).unwrap();
        w.line(&serde_json::json!({"type": "header", "posekit": "x"}))
            .unwrap();
        assert!(!target.exists(), "target must appear only on finish");
        let dest = w.finish(false).unwrap();
        assert_eq!(dest, target);
        assert!(is_posekit_result(&target));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn interrupted_run_goes_to_partial_and_keeps_old_result() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.jsonl");
        std::fs::write(&target, "old\n").unwrap();
        let mut w = JsonlWriter::create(&target).unwrap();
        w.line(&serde_json::json!({"a": 1})).unwrap();
        let dest = w.finish(true).unwrap();
        assert_eq!(dest, dir.path().join("r.partial.jsonl"));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
    }

    #[test]
    fn dropped_writer_removes_its_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let w = JsonlWriter::create(&dir.path().join("r.jsonl")).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn user_file_is_not_a_posekit_result() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.jsonl");
        std::fs::write(&p, "{\"type\":\"mine\"}\n").unwrap();
        assert!(!is_posekit_result(&p));
        assert!(!is_posekit_result(&dir.path().join("missing")));
    }

    #[test]
    fn frame_record_shape() {
        let person = Person {
            bbox: [1.0, 2.0, 3.0, 4.0],
            score: 0.9,
            keypoints: [[0.0; 5]; 33],
            world: [[0.0; 3]; 33],
        };
        let persons = [person];
        let v = serde_json::to_value(FrameRecord::new(7, 0.25, &persons)).unwrap();
        assert_eq!(v["type"], "frame");
        assert_eq!(v["frame"], 7);
        assert_eq!(v["persons"][0]["keypoints"].as_array().unwrap().len(), 33);
        assert_eq!(v["persons"][0]["keypoints"][0].as_array().unwrap().len(), 5);
        assert_eq!(v["persons"][0]["world"][32].as_array().unwrap().len(), 3);
    }
}
