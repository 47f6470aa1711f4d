//! The frame-ordered stages between the reorder buffer and the sinks: identity, gap
//! filling and causal smoothing, each a [`FrameStage`] over [`crate::tracking`]'s pure
//! logic. They run on the writer's thread in frame order, so their result never depends
//! on which worker finished first. A stage may hold frames back (gap filling waits to
//! see whether a person comes back) and releases them in order.
//!
//! Offline smoothing and `--shape per-track` need every frame of a track, so they are not
//! stages: they wrap the result sinks ([`Deferred`]), which keep the records (not the
//! pixels) until the frames end; the overlay, drawn as frames come, shows the landmarks
//! before them.

use std::collections::BTreeMap;

use super::error::PipelineError;
use super::sink::{FrameOut, Pixels, Sink, SinkStage, Written};
use crate::models::blazepose::config::SIMULATED_FRAME_US;
use crate::models::hmr2::Smpl;
use crate::output::wire::{Stages, Summary, TrackSummary};
use crate::pose::Person;
use crate::tracking::butterworth::Butterworth;
use crate::tracking::causal::CausalSmoother;
use crate::tracking::gaps::GapFiller;
use crate::tracking::identity::Identities;
use crate::tracking::offline::smooth_tracks;
use crate::tracking::smpl::{shape_per_track, smooth_offline, CausalSmplSmoother};
use crate::tracking::{frames_in, Smoothing, TrackedFrame, TrackingOptions};

/// One frame on its way from the reorder buffer to the sinks, owning its results.
pub(super) struct Ordered {
    pub(super) index: u64,
    pub(super) t: f64,
    /// Persons found, then any filled in by `--fill-gaps` (so `smpl` stays parallel to
    /// the first `smpl.len()` of them).
    pub(super) persons: Vec<Person>,
    pub(super) smpl: Vec<Smpl>,
    pub(super) image: Option<Pixels>,
    pub(super) stages: Stages,
}

impl TrackedFrame for Ordered {
    fn index(&self) -> u64 {
        self.index
    }
    fn persons(&self) -> &[Person] {
        &self.persons
    }
    fn persons_mut(&mut self) -> &mut Vec<Person> {
        &mut self.persons
    }
}

/// A stage over frames in order. `push` returns the frames it is done with, in order;
/// `finish` the ones it still holds at the end.
pub(super) trait FrameStage: Send {
    fn push(&mut self, frame: Ordered) -> Vec<Ordered>;
    fn finish(&mut self) -> Vec<Ordered> {
        Vec::new()
    }
}

/// Gives every person its `track_id`.
struct Identify(Identities);

impl FrameStage for Identify {
    fn push(&mut self, mut frame: Ordered) -> Vec<Ordered> {
        let ids = self.0.assign(frame.index, &frame.persons);
        for (person, id) in frame.persons.iter_mut().zip(ids) {
            person.track_id = id;
        }
        vec![frame]
    }
}

/// `--fill-gaps`.
struct FillGaps(GapFiller<Ordered>);

impl FrameStage for FillGaps {
    fn push(&mut self, frame: Ordered) -> Vec<Ordered> {
        self.0.push(frame)
    }
    fn finish(&mut self) -> Vec<Ordered> {
        self.0.finish()
    }
}

/// `--smooth causal`, stamped with MediaPipe's Python clock (frame n at n × 33,333 µs,
/// whatever the video's rate), which is what its `smooth_landmarks=True` filters read.
#[derive(Default)]
struct SmoothCausal {
    landmarks: CausalSmoother,
    meshes: CausalSmplSmoother,
}

impl FrameStage for SmoothCausal {
    fn push(&mut self, mut frame: Ordered) -> Vec<Ordered> {
        let time_ns = (frame.index as i64 + 1) * SIMULATED_FRAME_US * 1000;
        self.landmarks
            .apply(frame.index, time_ns, &mut frame.persons);
        if !frame.smpl.is_empty() {
            let ids: Vec<u32> = frame.persons.iter().map(|p| p.track_id).collect();
            self.meshes
                .apply(frame.index, time_ns, &ids, &mut frame.smpl);
        }
        vec![frame]
    }
}

/// The chain of frame-ordered stages a run's options ask for.
pub(super) struct OrderedStages {
    stages: Vec<Box<dyn FrameStage>>,
}

impl OrderedStages {
    /// The stages for `options` on a stream at `fps` (its real rate, which turns the
    /// options' seconds into frames).
    pub(super) fn new(options: &TrackingOptions, fps: f64) -> Self {
        let mut stages: Vec<Box<dyn FrameStage>> = vec![Box::new(Identify(Identities::new(
            frames_in(options.max_gap_s, fps),
        )))];
        let fill = frames_in(options.fill_gaps_s, fps);
        if fill > 0 {
            stages.push(Box::new(FillGaps(GapFiller::new(fill))));
        }
        if options.smoothing == Smoothing::Causal {
            stages.push(Box::new(SmoothCausal::default()));
        }
        OrderedStages { stages }
    }

    /// Runs `frame` through every stage; returns the frames that came out the end.
    pub(super) fn push(&mut self, frame: Ordered) -> Vec<Ordered> {
        self.through(0, vec![frame])
    }

    /// Flushes every stage in order (what one releases, the next still processes).
    pub(super) fn finish(&mut self) -> Vec<Ordered> {
        let mut out = Vec::new();
        for i in 0..self.stages.len() {
            out.extend(self.stages[i].finish());
            out = self.through(i + 1, out);
        }
        out
    }

    fn through(&mut self, from: usize, mut frames: Vec<Ordered>) -> Vec<Ordered> {
        for stage in &mut self.stages[from..] {
            frames = frames.into_iter().flat_map(|f| stage.push(f)).collect();
        }
        frames
    }
}

/// Each ID's first and last frame and counts, from the frames as the sinks get them.
#[derive(Default)]
pub(super) struct TrackBook {
    tracks: BTreeMap<u32, TrackSummary>,
}

impl TrackBook {
    pub(super) fn record(&mut self, index: u64, persons: &[Person]) {
        for person in persons.iter().filter(|p| p.track_id > 0) {
            let entry = self
                .tracks
                .entry(person.track_id)
                .or_insert_with(|| TrackSummary {
                    id: person.track_id,
                    first: index,
                    last: index,
                    ..TrackSummary::default()
                });
            entry.last = index;
            match person.filled {
                true => entry.frames_filled += 1,
                false => entry.frames_seen += 1,
            }
        }
    }

    pub(super) fn summaries(self) -> Vec<TrackSummary> {
        self.tracks.into_values().collect()
    }
}

/// A result sink behind `--smooth offline` or `--shape per-track`: frames are kept
/// (persons and meshes, never pixels: a `Person` is 1,088 bytes, a mesh about 1.5 KB and
/// 83 KB more with vertices) until the frames end, then every track is filtered (and given its
/// shape) and the frames go to the sink in order.
pub(super) struct Deferred<S> {
    inner: S,
    /// The offline filter, if smoothing is offline.
    filter: Option<Butterworth>,
    shape_per_track: bool,
    frames: Vec<Kept>,
}

struct Kept {
    index: u64,
    t: f64,
    persons: Vec<Person>,
    smpl: Vec<Smpl>,
}

impl<S: Sink> Deferred<S> {
    pub(super) fn new(inner: S, filter: Option<Butterworth>, shape_per_track: bool) -> Self {
        Deferred {
            inner,
            filter,
            shape_per_track,
            frames: Vec::new(),
        }
    }

    /// The whole-video work, over the kept frames in place.
    fn settle(&mut self) {
        let ids: Vec<Vec<u32>> = self
            .frames
            .iter()
            .map(|f| {
                f.persons[..f.smpl.len()]
                    .iter()
                    .map(|p| p.track_id)
                    .collect()
            })
            .collect();
        let mut meshes: Vec<&mut [Smpl]> = self
            .frames
            .iter_mut()
            .map(|f| f.smpl.as_mut_slice())
            .collect();
        if let Some(filter) = &self.filter {
            smooth_offline(filter, &ids, &mut meshes);
        }
        if self.shape_per_track {
            shape_per_track(&ids, &mut meshes);
        }
        if let Some(filter) = &self.filter {
            let mut persons: Vec<&mut [Person]> = self
                .frames
                .iter_mut()
                .map(|f| f.persons.as_mut_slice())
                .collect();
            smooth_tracks(filter, &mut persons);
        }
    }
}

impl<S: Sink> Sink for Deferred<S> {
    fn stage(&self) -> SinkStage {
        self.inner.stage()
    }

    fn frame(&mut self, frame: &mut FrameOut) -> Result<(), PipelineError> {
        self.frames.push(Kept {
            index: frame.index,
            t: frame.t,
            persons: frame.persons.to_vec(),
            smpl: frame.smpl.to_vec(),
        });
        Ok(())
    }

    fn end_of_frames(&mut self) -> Result<(), PipelineError> {
        self.settle();
        for kept in self.frames.drain(..) {
            let mut frame = FrameOut {
                index: kept.index,
                t: kept.t,
                persons: &kept.persons,
                smpl: &kept.smpl,
                image: None,
            };
            self.inner.frame(&mut frame)?;
        }
        self.inner.end_of_frames()
    }

    fn finish(self: Box<Self>, summary: &Summary) -> Result<Option<Written>, PipelineError> {
        Box::new(self.inner).finish(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::testing::person_at;

    fn frame(index: u64, persons: Vec<Person>) -> Ordered {
        Ordered {
            index,
            t: index as f64 / 30.0,
            persons,
            smpl: Vec::new(),
            image: None,
            stages: Stages::default(),
        }
    }

    #[test]
    fn ids_fills_and_the_book_agree_through_the_chain() {
        let options = TrackingOptions {
            fill_gaps_s: 0.1,
            ..TrackingOptions::default()
        };
        let mut stages = OrderedStages::new(&options, 30.0);
        let mut out = Vec::new();
        for f in 0..8u64 {
            let persons = match f {
                3 | 4 => vec![],
                _ => vec![person_at(100.0 + f as f32, 100.0)],
            };
            out.extend(stages.push(frame(f, persons)));
        }
        out.extend(stages.finish());
        assert_eq!(
            out.iter().map(|f| f.index).collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
        let mut book = TrackBook::default();
        for f in &out {
            book.record(f.index, &f.persons);
        }
        let tracks = book.summaries();
        assert_eq!(tracks.len(), 1);
        assert_eq!((tracks[0].first, tracks[0].last), (0, 7));
        assert_eq!((tracks[0].frames_seen, tracks[0].frames_filled), (6, 2));
    }
}
