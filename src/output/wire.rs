//! The JSON Lines result format: the wire structs, one per kind of line.
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
//! Every field's doc comment is its contract; [`super::jsonl`] writes the lines.

use serde::Serialize;

use crate::engine::{Device, ModelInfo};
use crate::files::fingerprint::Fingerprint;
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
    /// The input's fingerprint (size, modification time, sha256 of a sample), which
    /// `process` compares to skip inputs whose result is already complete.
    pub input: &'a Fingerprint,
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
    /// The weights' precision as the model's metadata states it (`fp32`, `fp16`, `int8`:
    /// `scripts/quantize_hmr2.py` writes `int8`); absent when the model does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
    /// Where it ran: `cpu`, `cuda` or `tensorrt` (with `--device auto`, what was chosen).
    pub device: Device,
}

impl ModelRef {
    pub fn of(info: &ModelInfo) -> Self {
        ModelRef {
            name: info.name.clone(),
            sha256: info.sha256.clone(),
            precision: info.precision.clone(),
            device: info.device,
        }
    }
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
    /// A person unseen for up to this many seconds keeps the `track_id` (`--max-gap`).
    pub max_gap_s: f64,
    /// Landmark smoothing: `none`, `causal` (MediaPipe's filters) or `offline`.
    pub smooth: &'static str,
    /// With `offline` and `--cutoff`: the Butterworth cutoff in Hz. Absent: the default,
    /// 6 Hz or 0.4 × `source.fps` when that is lower.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff_hz: Option<f64>,
    /// Gaps up to this many seconds are interpolated (`--fill-gaps`); 0 is off.
    pub fill_gaps_s: f64,
    /// With `--hmr2`: `per-frame` betas as the model gave them, or `per-track` (each
    /// track's median).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<&'static str>,
    /// With `--hmr2`: how the workers share its weights (`shared`, `prepacked`, `per-worker`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmr2_weights: Option<&'static str>,
    /// With `--hmr2`: the device asked for (`auto`, `cpu`, `cuda`, `tensorrt`); the one
    /// used is the HMR2 model's `device` under `models`, and the summary's `hmr2_device`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmr2_device: Option<&'static str>,
    /// With `--hmr2`: most crops run as one batch, gathered across consecutive frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmr2_batch: Option<usize>,
    /// `--max-frames`: the result stops after this many frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_frames: Option<u64>,
    /// `--rotmat`: the SMPL records carry rotation matrices too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rotmat: bool,
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
    /// Persons found, best first, then any filled in by `--fill-gaps`.
    pub persons: Vec<PersonRecord<'a>>,
}

/// One person, as written.
#[derive(Debug, Serialize)]
pub struct PersonRecord<'a> {
    /// The person's identity over the video, from 1: the same person keeps it while in
    /// view and through gaps of up to `--max-gap` seconds (absent for a lone image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_id: Option<u32>,
    /// True when `--fill-gaps` interpolated this person into a gap of its track: not a
    /// detection (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub filled: bool,
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

/// One person's SMPL parameters from HMR2 (`docs/hmr2-onnx.md`). It belongs to the
/// person's `track_id`. With `--smooth causal|offline` the rotations and `cam_t` are
/// smoothed over the track (`docs/tracking.md`), and with `--shape per-track` `betas` is
/// the track's median; `pred_cam`, the crop box and `keypoints_3d` stay the frame's own.
/// Persons drawn in by `--fill-gaps` have no `smpl`.
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
                    track_id: (p.track_id > 0).then_some(p.track_id),
                    filled: p.filled,
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
    /// With `--hmr2`: where it ran (`cpu`, `cuda`, `tensorrt`), as chosen by `--device`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmr2_device: Option<Device>,
    /// Seconds spent in each stage, summed over frames (and so over threads).
    pub stages: Stages,
    /// Every `track_id` given, in ID order.
    pub tracks: Vec<TrackSummary>,
}

/// One identity over the video.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrackSummary {
    /// The `track_id`.
    pub id: u32,
    /// First and last frame index it appears in (filled frames included).
    pub first: u64,
    pub last: u64,
    /// Frames it was found in.
    pub frames_seen: u64,
    /// Frames `--fill-gaps` drew it into (not counted as detections anywhere).
    pub frames_filled: u64,
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
    /// The frame-ordered stages: identities, gap filling and smoothing (the writer),
    /// offline smoothing at the end included.
    pub track_s: f64,
    /// Detector calls, so that `detect_s` per call can be set against the bare model.
    pub detector_calls: u64,
    /// Landmark-model calls (one per person tracked or looked for in a frame), so that
    /// `landmarks_s` per call can be set against the bare model.
    pub landmark_calls: u64,
}

impl Stages {
    pub fn add(&mut self, other: &Stages) {
        self.decode_s += other.decode_s;
        self.detect_s += other.detect_s;
        self.landmarks_s += other.landmarks_s;
        self.hmr2_s += other.hmr2_s;
        self.write_s += other.write_s;
        self.render_s += other.render_s;
        self.track_s += other.track_s;
        self.detector_calls += other.detector_calls;
        self.landmark_calls += other.landmark_calls;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_record_shape() {
        let person = Person {
            bbox: [1.0, 2.0, 3.0, 4.0],
            score: 0.9,
            keypoints: [[0.0; 5]; 33],
            world: [[0.0; 3]; 33],
            object_scale: 0.0,
            track_id: 1,
            filled: false,
        };
        let persons = [person];
        let v = serde_json::to_value(FrameRecord::new(7, 0.25, &persons)).unwrap();
        assert_eq!(v["type"], "frame");
        assert_eq!(v["frame"], 7);
        assert_eq!(v["persons"][0]["keypoints"].as_array().unwrap().len(), 33);
        assert_eq!(v["persons"][0]["keypoints"][0].as_array().unwrap().len(), 5);
        assert_eq!(v["persons"][0]["world"][32].as_array().unwrap().len(), 3);
        assert_eq!(v["persons"][0]["track_id"], 1);
        assert!(v["persons"][0].get("filled").is_none());
    }
}
