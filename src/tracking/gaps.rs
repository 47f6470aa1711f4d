//! `--fill-gaps`: a person missing for a few frames inside a track is drawn in by linear
//! interpolation between the last frame before the gap and the first after it.
//!
//! Frames pass through with a lookahead of exactly the longest gap filled: a gap can only
//! be filled once the person is back, and by then every frame of the gap must still be
//! here. So the delay, and the frames held (each with its image when an overlay is
//! drawn), is `max_gap` frames; with 0, frames pass straight through.

use std::collections::{BTreeMap, VecDeque};

use super::TrackedFrame;
use crate::pose::Person;

/// Fills gaps of at most `max_gap` frames, frame by frame.
pub struct GapFiller<F> {
    max_gap: u64,
    held: VecDeque<F>,
    /// Per track: the frame it was last found in, and the person found.
    last_seen: BTreeMap<u32, (u64, Person)>,
}

impl<F: TrackedFrame> GapFiller<F> {
    pub fn new(max_gap: u64) -> Self {
        GapFiller {
            max_gap,
            held: VecDeque::new(),
            last_seen: BTreeMap::new(),
        }
    }

    /// Takes the next frame (its persons have their IDs) and returns those frames that
    /// can no longer change, in order.
    pub fn push(&mut self, frame: F) -> Vec<F> {
        let index = frame.index();
        for person in frame.persons().iter().filter(|p| !p.filled) {
            if let Some((last, before)) = self.last_seen.get(&person.track_id) {
                let missing = index.saturating_sub(last + 1);
                if missing >= 1 && missing <= self.max_gap {
                    fill(&mut self.held, *last, before, index, person);
                }
            }
            self.last_seen
                .insert(person.track_id, (index, person.clone()));
        }
        let max_gap = self.max_gap;
        self.last_seen
            .retain(|_, (last, _)| index.saturating_sub(*last) <= max_gap + 1);
        self.held.push_back(frame);
        let mut ready = Vec::new();
        while self.held.len() as u64 > self.max_gap {
            ready.extend(self.held.pop_front());
        }
        ready
    }

    /// The frames still held, at the end of the video.
    pub fn finish(&mut self) -> Vec<F> {
        self.held.drain(..).collect()
    }
}

/// Adds the interpolated person to each held frame strictly between `from` and `to`.
fn fill<F: TrackedFrame>(
    held: &mut VecDeque<F>,
    from: u64,
    before: &Person,
    to: u64,
    after: &Person,
) {
    for frame in held.iter_mut() {
        let i = frame.index();
        if i > from && i < to {
            let w = (i - from) as f32 / (to - from) as f32;
            frame.persons_mut().push(interpolate(before, after, w));
        }
    }
}

/// The person `w` (0..1) of the way from `a` to `b`, marked filled.
pub fn interpolate(a: &Person, b: &Person, w: f32) -> Person {
    let lerp = |x: f32, y: f32| x + (y - x) * w;
    let mut p = a.clone();
    for (o, (x, y)) in p.bbox.iter_mut().zip(a.bbox.iter().zip(&b.bbox)) {
        *o = lerp(*x, *y);
    }
    for (o, (x, y)) in p
        .keypoints
        .iter_mut()
        .zip(a.keypoints.iter().zip(&b.keypoints))
    {
        for k in 0..5 {
            o[k] = lerp(x[k], y[k]);
        }
    }
    for (o, (x, y)) in p.world.iter_mut().zip(a.world.iter().zip(&b.world)) {
        for k in 0..3 {
            o[k] = lerp(x[k], y[k]);
        }
    }
    p.score = lerp(a.score, b.score);
    p.object_scale = lerp(a.object_scale, b.object_scale);
    p.filled = true;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::testing::{person_at, Frame};

    fn tracked(x: f32) -> Person {
        let mut p = person_at(x, 100.0);
        p.track_id = 1;
        p
    }

    fn run(max_gap: u64, frames: Vec<Frame>) -> Vec<Frame> {
        let mut filler = GapFiller::new(max_gap);
        let mut out: Vec<Frame> = frames.into_iter().flat_map(|f| filler.push(f)).collect();
        out.extend(filler.finish());
        out
    }

    #[test]
    fn a_short_gap_is_filled_linearly_and_marked() {
        let frames = vec![
            Frame::new(0, vec![tracked(100.0)]),
            Frame::new(1, vec![]),
            Frame::new(2, vec![]),
            Frame::new(3, vec![tracked(130.0)]),
        ];
        let out = run(2, frames);
        assert_eq!(
            out.iter().map(|f| f.index).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        let x = |f: usize| out[f].persons[0].keypoints[0][0];
        assert_eq!((x(1), x(2)), (110.0, 120.0));
        assert!(out[1].persons[0].filled && out[2].persons[0].filled);
        assert!(!out[0].persons[0].filled && !out[3].persons[0].filled);
        assert_eq!(out[1].persons[0].track_id, 1);
    }

    #[test]
    fn a_gap_longer_than_max_gap_stays_empty() {
        let frames = (0..5)
            .map(|i| match i {
                0 => Frame::new(0, vec![tracked(100.0)]),
                4 => Frame::new(4, vec![tracked(140.0)]),
                i => Frame::new(i, vec![]),
            })
            .collect();
        let out = run(2, frames);
        assert!(out[1..4].iter().all(|f| f.persons.is_empty()));
    }

    #[test]
    fn zero_passes_frames_straight_through() {
        let mut filler = GapFiller::new(0);
        assert_eq!(filler.push(Frame::new(0, vec![tracked(1.0)])).len(), 1);
        assert!(filler.finish().is_empty());
    }
}
