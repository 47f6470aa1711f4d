//! Identities: which person of this frame is which person of the last ones.
//!
//! Each live track predicts where its person is now (the body moving at constant
//! velocity: the box centre's, which limbs flailing or a box that jumps in width do not
//! spoil as per-joint velocities would), and is scored against every person found in the
//! frame by box overlap, an OKS-like keypoint similarity and the closeness of the box
//! centres, with tolerances that grow with the frames since the track was last seen; a
//! person standing where the track was last seen scores as well. Pairs are then taken
//! greedily, best first, so no two people of one frame ever share an ID. A track not seen for more than `max_gap` frames ends;
//! a person nobody claims starts a new ID. Everything happens in frame order, so the
//! IDs never depend on which worker finished first.

use crate::models::blazepose::roi::box_iou;
use crate::pose::{Person, NUM_LANDMARKS};

/// A pair scores at least this to be the same person. posekit's own choice: two people
/// side by side score under 0.1 (no overlap, keypoints far apart, centres a body width
/// apart), the same person from one frame to the next near 1, and a person back from a
/// half-second gap near where the motion predicts about 0.3–0.6.
const MIN_SIMILARITY: f32 = 0.15;

/// OKS's per-keypoint constant κ, one value for all 33 points. COCO's body constants run
/// 0.025 (eyes) to 0.107 (hips); 0.1 is lenient on purpose, since the face points
/// jitter more than the landmark model's error on them suggests.
const OKS_KAPPA: f32 = 0.1;

/// The closeness term's spread, as a share of the predicted box's diagonal: a quarter
/// of the body's diagonal off scores 0.6, one diagonal off 0.0003.
const CLOSENESS_REACH: f32 = 0.25;

/// Keypoints count in the OKS only when both sides think they are this likely visible.
const OKS_MIN_VISIBILITY: f32 = 0.5;

/// How much of a new velocity estimate replaces the old one: the box centre's
/// frame-to-frame motion is noisy, half of it is enough to follow a turn within frames.
const VELOCITY_BLEND: f32 = 0.5;

/// One person followed over time.
#[derive(Clone, Debug)]
struct Track {
    id: u32,
    /// Frame index where the person was last seen.
    last_frame: u64,
    bbox: [f32; 4],
    points: [[f32; 2]; NUM_LANDMARKS],
    visibility: [f32; NUM_LANDMARKS],
    /// The box centre's, pixels per frame.
    velocity: [f32; 2],
    /// False until the track has been seen twice (no velocity yet).
    moving: bool,
}

/// Where a track expects its person in some frame.
struct Prediction {
    bbox: [f32; 4],
    points: [[f32; 2]; NUM_LANDMARKS],
    /// Frames since the track was last seen, at least 1.
    frames: f32,
}

impl Track {
    fn new(id: u32, frame: u64, person: &Person) -> Self {
        Track {
            id,
            last_frame: frame,
            bbox: person.bbox,
            points: points_of(person),
            visibility: person.keypoints.map(|k| k[3]),
            velocity: [0.0; 2],
            moving: false,
        }
    }

    /// Where the person is in `frame` if they kept moving (`moving`) or stood still.
    fn predict(&self, frame: u64, moving: bool) -> Prediction {
        let frames = frame.saturating_sub(self.last_frame).max(1) as f32;
        let [dx, dy] = match moving {
            true => self.velocity.map(|v| v * frames),
            false => [0.0, 0.0],
        };
        let [x1, y1, x2, y2] = self.bbox;
        let bbox = [x1 + dx, y1 + dy, x2 + dx, y2 + dy];
        let points = self.points.map(|[x, y]| [x + dx, y + dy]);
        Prediction {
            bbox,
            points,
            frames,
        }
    }

    fn update(&mut self, frame: u64, person: &Person) {
        let frames = frame.saturating_sub(self.last_frame).max(1) as f32;
        let blend = if self.moving { VELOCITY_BLEND } else { 1.0 };
        let (old, new) = (centre(self.bbox), centre(person.bbox));
        for k in 0..2 {
            let v = (new[k] - old[k]) / frames;
            self.velocity[k] += blend * (v - self.velocity[k]);
        }
        self.moving = true;
        self.last_frame = frame;
        self.bbox = person.bbox;
        self.points = points_of(person);
        self.visibility = person.keypoints.map(|k| k[3]);
    }
}

fn centre([x1, y1, x2, y2]: [f32; 4]) -> [f32; 2] {
    [(x1 + x2) / 2.0, (y1 + y2) / 2.0]
}

fn points_of(person: &Person) -> [[f32; 2]; NUM_LANDMARKS] {
    person.keypoints.map(|k| [k[0], k[1]])
}

/// The identities of one video, frame after frame.
#[derive(Debug)]
pub struct Identities {
    /// Frames a person may be missing and keep the ID.
    max_gap: u64,
    tracks: Vec<Track>,
    next_id: u32,
}

impl Identities {
    /// `max_gap`: frames a track may go unseen and still be continued.
    pub fn new(max_gap: u64) -> Self {
        Identities {
            max_gap,
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// The ID of each of `persons` (found in frame `frame`), in their order. Frames must
    /// come in increasing order.
    pub fn assign(&mut self, frame: u64, persons: &[Person]) -> Vec<u32> {
        let max_gap = self.max_gap;
        // A track unseen in more than `max_gap` frames before this one is over.
        self.tracks
            .retain(|t| frame.saturating_sub(t.last_frame) <= max_gap + 1);
        let mut ids = vec![0u32; persons.len()];
        for (track, person) in self.matches(frame, persons) {
            ids[person] = self.tracks[track].id;
            self.tracks[track].update(frame, &persons[person]);
        }
        for (id, person) in ids.iter_mut().zip(persons) {
            if *id == 0 {
                *id = self.next_id;
                self.next_id += 1;
                self.tracks.push(Track::new(*id, frame, person));
            }
        }
        ids
    }

    /// (track, person) pairs, best first, each track and person at most once.
    fn matches(&self, frame: u64, persons: &[Person]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (t, track) in self.tracks.iter().enumerate() {
            // Moving on, or stopped where last seen: over a gap of several frames a
            // velocity from a few noisy boxes can point well off (a person back after
            // ten frames of blackout on the Sports2D clip was 50 px from the guess).
            let guesses = [track.predict(frame, true), track.predict(frame, false)];
            for (p, person) in persons.iter().enumerate() {
                let score = guesses
                    .iter()
                    .map(|g| similarity(g, &track.visibility, person))
                    .fold(0.0, f32::max);
                if score >= MIN_SIMILARITY {
                    pairs.push((score, t, p));
                }
            }
        }
        greedy(pairs)
    }
}

/// Takes pairs best first; ties go to the older track, then the earlier person, so the
/// result is the same whatever order the candidates were scored in.
fn greedy(mut pairs: Vec<(f32, usize, usize)>) -> Vec<(usize, usize)> {
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut tracks_taken, mut persons_taken) = (Vec::new(), Vec::new());
    let mut chosen = Vec::new();
    for (_, t, p) in pairs {
        if !tracks_taken.contains(&t) && !persons_taken.contains(&p) {
            tracks_taken.push(t);
            persons_taken.push(p);
            chosen.push((t, p));
        }
    }
    chosen
}

/// The mean of box overlap, keypoint similarity and closeness, each 0..1.
fn similarity(predicted: &Prediction, visibility: &[f32; NUM_LANDMARKS], person: &Person) -> f32 {
    let overlap = box_iou(predicted.bbox, person.bbox);
    let keypoints = keypoint_similarity(predicted, visibility, person);
    (overlap + keypoints + closeness(predicted, person)) / 3.0
}

/// How near the box centres are, for the body's size: a loose term that keeps a person
/// whose landmarks jumped (on the bikes clip a cyclist's box moved 50 px and shrank by a
/// quarter in one frame, which overlap and OKS alone scored as a stranger). Unlike OKS
/// its reach does not grow over a gap: on the same clip that let an ID cross a scene cut
/// onto a false detection 140 px away six frames later.
fn closeness(predicted: &Prediction, person: &Person) -> f32 {
    let (a, b) = (centre(predicted.bbox), centre(person.bbox));
    let [x1, y1, x2, y2] = predicted.bbox;
    let reach = CLOSENESS_REACH * (x2 - x1).hypot(y2 - y1).max(1.0);
    let d2 = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
    (-d2 / (2.0 * reach * reach)).exp()
}

/// OKS with a tolerance that widens as √frames since the track was seen, as a
/// constant-velocity guess drifts. The body's size s² is half the predicted box's squared
/// diagonal rather than OKS's area, which a person with arms down (a box 30 px wide one
/// frame, 110 the next, on the Sports2D clip) would make jump fourfold.
fn keypoint_similarity(
    predicted: &Prediction,
    visibility: &[f32; NUM_LANDMARKS],
    person: &Person,
) -> f32 {
    let [x1, y1, x2, y2] = predicted.bbox;
    let size = (((x2 - x1).powi(2) + (y2 - y1).powi(2)) / 2.0).max(1.0);
    let spread = 2.0 * size * OKS_KAPPA * OKS_KAPPA * predicted.frames;
    let both_visible = |i: usize| {
        visibility[i] >= OKS_MIN_VISIBILITY && person.keypoints[i][3] >= OKS_MIN_VISIBILITY
    };
    let mut used: Vec<usize> = (0..NUM_LANDMARKS).filter(|&i| both_visible(i)).collect();
    if used.is_empty() {
        used = (0..NUM_LANDMARKS).collect();
    }
    let total: f32 = used
        .iter()
        .map(|&i| {
            let [px, py] = predicted.points[i];
            let (dx, dy) = (person.keypoints[i][0] - px, person.keypoints[i][1] - py);
            (-(dx * dx + dy * dy) / spread).exp()
        })
        .sum();
    total / used.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::testing::person_at;

    #[test]
    fn a_frame_with_nobody_keeps_the_tracks() {
        let mut ids = Identities::new(5);
        assert_eq!(ids.assign(0, &[person_at(100.0, 100.0)]), vec![1]);
        assert!(ids.assign(1, &[]).is_empty());
        assert_eq!(ids.assign(2, &[person_at(102.0, 100.0)]), vec![1]);
    }

    #[test]
    fn two_people_entering_together_get_two_ids_and_keep_them() {
        let mut ids = Identities::new(5);
        let (a, b) = (person_at(100.0, 200.0), person_at(400.0, 200.0));
        assert_eq!(ids.assign(0, &[a.clone(), b.clone()]), vec![1, 2]);
        // Listed the other way round next frame: the IDs follow the people, not the order.
        assert_eq!(
            ids.assign(1, &[person_at(403.0, 200.0), person_at(103.0, 200.0)]),
            vec![2, 1]
        );
    }

    #[test]
    fn crossing_people_keep_their_ids_by_their_motion() {
        // A walks right, B walks left, at 10 px a frame; they overlap mid-way.
        let mut ids = Identities::new(5);
        let mut seen = Vec::new();
        for f in 0..30u64 {
            let (xa, xb) = (100.0 + 10.0 * f as f32, 390.0 - 10.0 * f as f32);
            // B is listed first from the crossing on, so order alone would swap them.
            let persons = if f < 15 {
                vec![person_at(xa, 200.0), person_at(xb, 205.0)]
            } else {
                vec![person_at(xb, 205.0), person_at(xa, 200.0)]
            };
            let got = ids.assign(f, &persons);
            seen.push(if f < 15 { got } else { vec![got[1], got[0]] });
        }
        assert!(seen.iter().all(|g| g == &vec![1, 2]), "{seen:?}");
    }

    #[test]
    fn a_person_back_within_max_gap_keeps_the_id() {
        let mut ids = Identities::new(5);
        for f in 0..5 {
            ids.assign(f, &[person_at(100.0 + 4.0 * f as f32, 100.0)]);
        }
        // Missing in frames 5..=9 (five frames), back at 10 where the motion predicts.
        assert_eq!(ids.assign(10, &[person_at(140.0, 100.0)]), vec![1]);
    }

    #[test]
    fn a_person_back_after_max_gap_gets_a_new_id() {
        let mut ids = Identities::new(5);
        for f in 0..5 {
            ids.assign(f, &[person_at(100.0 + 4.0 * f as f32, 100.0)]);
        }
        // Missing in frames 5..=10 (six frames): the track has ended.
        assert_eq!(ids.assign(11, &[person_at(144.0, 100.0)]), vec![2]);
    }

    #[test]
    fn no_two_people_share_an_id_even_on_top_of_each_other() {
        let mut ids = Identities::new(5);
        ids.assign(0, &[person_at(100.0, 100.0)]);
        let got = ids.assign(1, &[person_at(100.0, 100.0), person_at(101.0, 100.0)]);
        assert_eq!(got.len(), 2);
        assert_ne!(got[0], got[1]);
        assert!(got.contains(&1));
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(
            box_iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]),
            2.0 / 6.0
        );
        assert_eq!(box_iou([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
    }
}
