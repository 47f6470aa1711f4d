//! The sinks `process` writes to: the JSON Lines result, the overlay video, and the
//! HMR2 arrays as a `.npz`. Each adapts one writer of [`crate::output`] or
//! [`crate::media`] to [`Sink`].

use std::path::{Path, PathBuf};

use super::error::PipelineError;
use super::sink::{FrameOut, OutputKind, Sink, SinkStage, Written};
use crate::media::encode::Renderer;
use crate::models::hmr2::config::{NUM_BETAS, NUM_BODY_JOINTS};
use crate::models::hmr2::Smpl;
use crate::output::jsonl::JsonlWriter;
use crate::output::npz::NpzWriter;
use crate::output::overlay::draw_persons;
use crate::output::wire::{FrameRecord, Summary};

/// Joints drawn on the overlay only when the model thinks they are this likely visible.
const RENDER_MIN_VISIBILITY: f32 = 0.5;

/// The JSON Lines result; its header is written when it is made.
pub struct JsonlSink {
    writer: JsonlWriter,
    /// With `--rotmat`: rotation matrices beside axis-angle.
    rotmat: bool,
}

impl JsonlSink {
    pub fn new(writer: JsonlWriter, rotmat: bool) -> Self {
        JsonlSink { writer, rotmat }
    }
}

impl Sink for JsonlSink {
    fn stage(&self) -> SinkStage {
        SinkStage::Write
    }

    fn frame(&mut self, frame: &mut FrameOut) -> Result<(), PipelineError> {
        let record = FrameRecord::new(frame.index, frame.t, frame.persons);
        self.writer
            .line(&record.with_smpl(frame.smpl, self.rotmat))?;
        Ok(())
    }

    fn finish(mut self: Box<Self>, summary: &Summary) -> Result<Option<Written>, PipelineError> {
        self.writer.line(summary)?;
        let path = self.writer.finish(summary.interrupted)?;
        Ok(Some(Written {
            kind: OutputKind::Results,
            path,
        }))
    }
}

/// The overlay video: skeletons and boxes drawn on each frame, then encoded.
pub struct OverlaySink {
    renderer: Renderer,
}

impl OverlaySink {
    pub fn new(renderer: Renderer) -> Self {
        OverlaySink { renderer }
    }
}

impl Sink for OverlaySink {
    fn stage(&self) -> SinkStage {
        SinkStage::Render
    }

    fn wants_images(&self) -> bool {
        true
    }

    fn frame(&mut self, frame: &mut FrameOut) -> Result<(), PipelineError> {
        let Some(pixels) = frame.image.take() else {
            return Ok(());
        };
        let persons = frame.persons;
        // Drawn on the encoder's own frame: the decoded one is shared and never copied.
        self.renderer
            .write(&pixels.image, pixels.picture.as_deref(), |canvas| {
                draw_persons(canvas, persons, RENDER_MIN_VISIBILITY)
            })?;
        Ok(())
    }

    fn finish(self: Box<Self>, summary: &Summary) -> Result<Option<Written>, PipelineError> {
        let path = self.renderer.finish(summary.interrupted)?;
        Ok(Some(Written {
            kind: OutputKind::Overlay,
            path,
        }))
    }
}

/// Each person's HMR2 arrays as one row of each array in the .npz.
pub struct NpzSink {
    writer: NpzWriter,
    path: PathBuf,
}

impl NpzSink {
    pub fn create(path: &Path) -> Result<Self, PipelineError> {
        let writer = NpzWriter::create(path).map_err(|source| PipelineError::Npz {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(NpzSink {
            writer,
            path: path.to_path_buf(),
        })
    }

    fn failed(&self, source: std::io::Error) -> PipelineError {
        PipelineError::Npz {
            path: self.path.clone(),
            source,
        }
    }

    fn push_person(
        &mut self,
        frame: u64,
        person: usize,
        track_id: u32,
        s: &Smpl,
    ) -> std::io::Result<()> {
        let w = &mut self.writer;
        let flat =
            |m: &[[[f32; 3]; 3]]| -> Vec<f32> { m.iter().flatten().flatten().copied().collect() };
        let points = |p: &[[f32; 3]]| -> Vec<f32> { p.iter().flatten().copied().collect() };
        w.push_i64("frame", frame as i64)?;
        w.push_i64("person", person as i64)?;
        w.push_i64("track_id", track_id as i64)?;
        w.push_f32("global_orient", &[3], &s.global_orient_aa())?;
        w.push_f32(
            "body_pose",
            &[NUM_BODY_JOINTS, 3],
            &points(&s.body_pose_aa()),
        )?;
        w.push_f32(
            "global_orient_rotmat",
            &[1, 3, 3],
            &flat(&[s.global_orient]),
        )?;
        w.push_f32(
            "body_pose_rotmat",
            &[NUM_BODY_JOINTS, 3, 3],
            &flat(&s.body_pose),
        )?;
        w.push_f32("betas", &[NUM_BETAS], &s.betas)?;
        w.push_f32("pred_cam", &[3], &s.pred_cam)?;
        w.push_f32("cam_t", &[3], &s.cam_t)?;
        w.push_f32("focal_length", &[], &[s.focal_length])?;
        w.push_f32("box_center", &[2], &s.crop.center)?;
        w.push_f32("box_size", &[], &[s.crop.size])?;
        if let Some(k) = &s.keypoints_3d {
            w.push_f32("keypoints_3d", &[k.len(), 3], &points(k))?;
        }
        if let Some(v) = &s.vertices {
            w.push_f32("vertices", &[v.len(), 3], &points(v))?;
        }
        Ok(())
    }
}

impl Sink for NpzSink {
    fn stage(&self) -> SinkStage {
        SinkStage::Write
    }

    /// One row per person of the frame.
    fn frame(&mut self, frame: &mut FrameOut) -> Result<(), PipelineError> {
        for (person, (s, p)) in frame.smpl.iter().zip(frame.persons).enumerate() {
            self.push_person(frame.index, person, p.track_id, s)
                .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, summary: &Summary) -> Result<Option<Written>, PipelineError> {
        let path = self.path.clone();
        let written = self
            .writer
            .finish(summary.interrupted)
            .map_err(|source| PipelineError::Npz { path, source })?;
        Ok(Some(Written {
            kind: OutputKind::Npz,
            path: written,
        }))
    }
}
