//! Video mode: MediaPipe's detect-then-track loop (`pose_landmark_cpu.pbtxt`) for several
//! people. Each track carries the ROI for the next frame, built from this frame's two
//! auxiliary landmarks after the one-euro filter MediaPipe always applies to them
//! (`pose_landmark_filtering.pbtxt`, `pose_landmarks_to_roi.pbtxt`).
//!
//! MediaPipe tracks one person and runs its detector only when it has no ROI from the
//! previous frame. Here the detector also runs again on the frame where a track was lost
//! (so the person is found again at once; MediaPipe waits a frame) and every
//! `detect_every` frames while fewer than `max_people` are tracked (to find newcomers).

use super::config::{
    AUX_BETA, AUX_DEFAULT_FREQUENCY, AUX_DERIVATE_CUTOFF, AUX_MIN_CUTOFF, SAME_PERSON_IOU,
    SIMULATED_FRAME_US,
};
use super::detector::Detection;
use super::filter::PointsFilter;
use super::landmarks::RoiLandmarks;
use super::roi::{alignment_rect, box_iou, roi_from_points, NormRect};
use super::{roi_from_detection, BlazePose};
use crate::engine::EngineError;
use crate::image::RgbImage;
use crate::pose::Person;

/// Which timestamps feed the auxiliary-landmark filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Frame n (from 1) at n × 33333 µs, as MediaPipe's Python `Pose.process` stamps
    /// frames whatever the video's rate: the setting that reproduces it.
    Simulated30Fps,
    /// The `t_seconds` passed to [`Tracker::track`], to the microsecond.
    Given,
}

/// One tracked person: where to look next frame and the filter state behind it.
struct Track {
    roi: NormRect,
    aux_filter: PointsFilter,
}

impl Track {
    fn new() -> Self {
        let filter = PointsFilter::new(
            2,
            AUX_DEFAULT_FREQUENCY,
            AUX_MIN_CUTOFF,
            AUX_BETA,
            AUX_DERIVATE_CUTOFF,
        );
        let zero = NormRect {
            x_center: 0.0,
            y_center: 0.0,
            width: 0.0,
            height: 0.0,
            rotation: 0.0,
        };
        Self {
            roi: zero,
            aux_filter: filter,
        }
    }

    /// Smooths this frame's auxiliary landmarks (in pixels, speeds scaled by the object
    /// size from the unsmoothed points) and builds the next frame's ROI from them.
    fn advance(&mut self, found: &RoiLandmarks, time_ns: i64, width: u32, height: u32) {
        let (w, h) = (width as f32, height as f32);
        let [a0, a1] = found.aux;
        let raw = alignment_rect([a0[0], a0[1]], [a1[0], a1[1]], width, height);
        let object_scale = (raw.width * w + raw.height * h) / 2.0;
        let mut points = found.aux.map(|a| [a[0] * w, a[1] * h, a[2] * w]);
        self.aux_filter.apply(time_ns, object_scale, &mut points);
        let [p0, p1] = points.map(|p| [p[0] / w, p[1] / h]);
        self.roi = roi_from_points(p0, p1, width, height);
    }
}

/// The timestamp MediaPipe's Python API gives frame `index` (from 0) of any video:
/// `(index + 1) × 33,333 µs`, as if it were 30 fps. Feeding [`Clock::Given`] these times
/// reproduces MediaPipe's tracking filter exactly with one worker, and keeps the spacing
/// right when a worker sees only every N-th frame.
pub fn mediapipe_time(index: u64) -> f64 {
    ((index as i64 + 1) * SIMULATED_FRAME_US) as f64 / 1e6
}

/// Video mode over several people.
pub struct Tracker {
    max_people: usize,
    detect_every: u32,
    clock: Clock,
    redetect_on_loss: bool,
    tracks: Vec<Track>,
    frames_since_detection: u32,
    frame_count: i64,
    /// This frame's detections, made early by [`Tracker::track_or_adopt`] while it waited.
    early: Option<Vec<Detection>>,
}

/// Regions another worker hands over, for [`Tracker::track_or_adopt`].
pub trait HandOver {
    /// The regions if they have arrived; `None` while they are still being made.
    fn arrived(&mut self) -> Option<Vec<NormRect>>;
    /// The regions, waiting for them to arrive.
    fn wait(&mut self) -> Vec<NormRect>;
}

/// A closure's regions are there as soon as it is asked.
impl<F: FnMut() -> Vec<NormRect>> HandOver for F {
    fn arrived(&mut self) -> Option<Vec<NormRect>> {
        Some(self())
    }

    fn wait(&mut self) -> Vec<NormRect> {
        self()
    }
}

impl Tracker {
    /// Tracks up to `max_people`; `detect_every` 0 never looks for newcomers while people
    /// are tracked. Uses [`Clock::Simulated30Fps`] and re-detects when a track is lost.
    pub fn new(max_people: usize, detect_every: u32) -> Self {
        Self {
            max_people,
            detect_every,
            clock: Clock::Simulated30Fps,
            redetect_on_loss: true,
            tracks: Vec::new(),
            frames_since_detection: 0,
            frame_count: 0,
            early: None,
        }
    }

    /// Chooses the filter's timestamps.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// `false` waits for the next frame to detect a lost person, exactly as MediaPipe.
    pub fn with_redetect_on_loss(mut self, redetect: bool) -> Self {
        self.redetect_on_loss = redetect;
        self
    }

    /// How many people are tracked into the next frame.
    pub fn num_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// The ROIs the next frame will be read from, one per track (for drawing and debugging).
    pub fn next_rois(&self) -> Vec<NormRect> {
        self.tracks.iter().map(|t| t.roi).collect()
    }

    /// One frame: follow the tracks, detect when needed, return this frame's persons.
    pub fn track(
        &mut self,
        model: &mut BlazePose,
        image: &RgbImage,
        t_seconds: f64,
    ) -> Result<Vec<Person>, EngineError> {
        self.frame_count += 1;
        self.frames_since_detection = self.frames_since_detection.saturating_add(1);
        let time_ns = self.time_ns(t_seconds);
        let had_tracks = !self.tracks.is_empty();
        let mut found = Vec::new();
        let lost = self.follow_tracks(model, image, time_ns, &mut found)?;
        let periodic = self.detect_every > 0 && self.frames_since_detection >= self.detect_every;
        let wanted = !had_tracks || (lost && self.redetect_on_loss) || periodic;
        if wanted && self.tracks.len() < self.max_people {
            self.frames_since_detection = 0;
            self.add_detections(model, image, time_ns, &mut found)?;
        }
        Ok(found
            .iter()
            .map(|r| r.to_person(image.width, image.height))
            .collect())
    }

    /// [`Tracker::track`], first taking over the regions `handed_over` returns (in the
    /// pipeline: those another worker built from the previous frame) whenever this
    /// tracker would otherwise look for people with the detector: when it follows nobody,
    /// or when its periodic detection is due. Tracking keeps people the detector misses,
    /// so a worker whose share of frames starts cold, or lost someone, picks up the people
    /// its neighbour follows. `handed_over` is not asked on other frames, so workers
    /// wait on each other only then. While the regions have not arrived, the detector
    /// runs on this frame first, in parallel with the neighbour: its answer depends on
    /// this frame alone, so it is the answer `track` would get later, and is used only
    /// if `track` wants one. Without that, workers on frames where nobody is followed
    /// (an empty street) took turns instead of working side by side.
    pub fn track_or_adopt(
        &mut self,
        model: &mut BlazePose,
        image: &RgbImage,
        t_seconds: f64,
        mut handed_over: impl HandOver,
    ) -> Result<Vec<Person>, EngineError> {
        let periodic_due =
            self.detect_every > 0 && self.frames_since_detection + 1 >= self.detect_every;
        if self.tracks.is_empty() || periodic_due {
            let rois = match handed_over.arrived() {
                Some(rois) => rois,
                None => {
                    self.early = Some(model.detect(image)?);
                    handed_over.wait()
                }
            };
            self.adopt(rois, image);
        }
        let persons = self.track(model, image, t_seconds);
        // Unused early detections belong to this frame only.
        self.early = None;
        persons
    }

    /// Starts tracks on `rois` that no existing track already covers, up to `max_people`.
    fn adopt(&mut self, rois: Vec<NormRect>, image: &RgbImage) {
        let (w, h) = (image.width, image.height);
        for roi in rois {
            if self.tracks.len() >= self.max_people {
                break;
            }
            let bbox = roi.bounding_box(w, h);
            let covered = self
                .tracks
                .iter()
                .any(|t| box_iou(bbox, t.roi.bounding_box(w, h)) > SAME_PERSON_IOU);
            if !covered {
                let mut track = Track::new();
                track.roi = roi;
                self.tracks.push(track);
            }
        }
    }

    fn time_ns(&self, t_seconds: f64) -> i64 {
        let micros = match self.clock {
            Clock::Simulated30Fps => self.frame_count * SIMULATED_FRAME_US,
            Clock::Given => (t_seconds * 1e6).round() as i64,
        };
        micros * 1000
    }

    /// Runs the landmark model on every track's ROI; drops tracks whose pose is gone
    /// (returns whether any was) and tracks that landed on a person already found.
    fn follow_tracks(
        &mut self,
        model: &mut BlazePose,
        image: &RgbImage,
        time_ns: i64,
        found: &mut Vec<RoiLandmarks>,
    ) -> Result<bool, EngineError> {
        let mut lost = false;
        let mut kept = Vec::new();
        for mut track in std::mem::take(&mut self.tracks) {
            match model.landmarks_in_roi(image, &track.roi)? {
                None => lost = true,
                Some(r) if same_person_as_any(&r, found, image) => {}
                Some(r) => {
                    track.advance(&r, time_ns, image.width, image.height);
                    found.push(r);
                    kept.push(track);
                }
            }
        }
        self.tracks = kept;
        Ok(lost)
    }

    /// Starts tracks from this frame's detections, best first, skipping detections whose
    /// ROI overlaps a tracked person's (before running the landmark model on them) and
    /// results that land on a person already found.
    fn add_detections(
        &mut self,
        model: &mut BlazePose,
        image: &RgbImage,
        time_ns: i64,
        found: &mut Vec<RoiLandmarks>,
    ) -> Result<(), EngineError> {
        let detections = match self.early.take() {
            Some(early) => early,
            None => model.detect(image)?,
        };
        for det in detections {
            if self.tracks.len() >= self.max_people {
                break;
            }
            let roi = roi_from_detection(&det, image);
            let bbox = roi.bounding_box(image.width, image.height);
            let taken = self.tracks.iter().any(|t| {
                box_iou(bbox, t.roi.bounding_box(image.width, image.height)) > SAME_PERSON_IOU
            });
            if taken {
                continue;
            }
            let Some(r) = model.landmarks_in_roi(image, &roi)? else {
                continue;
            };
            if same_person_as_any(&r, found, image) {
                continue;
            }
            let mut track = Track::new();
            track.advance(&r, time_ns, image.width, image.height);
            found.push(r);
            self.tracks.push(track);
        }
        Ok(())
    }
}

fn same_person_as_any(r: &RoiLandmarks, others: &[RoiLandmarks], image: &RgbImage) -> bool {
    let b = r.to_person(image.width, image.height).bbox;
    others
        .iter()
        .any(|o| box_iou(b, o.to_person(image.width, image.height).bbox) > SAME_PERSON_IOU)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{FakeDetector, FakeLandmarks};
    use super::*;
    use std::sync::atomic::Ordering::SeqCst;

    struct Rig {
        model: BlazePose,
        det: FakeDetector,
        lm: FakeLandmarks,
        image: RgbImage,
    }

    fn rig(hips: &[(f32, f32)]) -> Rig {
        let det = FakeDetector::people(hips);
        let lm = FakeLandmarks::upright(0.9);
        let model = BlazePose::new(Box::new(det.clone()), Box::new(lm.clone())).unwrap();
        Rig {
            model,
            det,
            lm,
            image: RgbImage::new(640, 480),
        }
    }

    impl Rig {
        fn frame(&mut self, tracker: &mut Tracker) -> Vec<Person> {
            tracker.track(&mut self.model, &self.image, 0.0).unwrap()
        }
        fn det_calls(&self) -> usize {
            self.det.calls.load(SeqCst)
        }
    }

    #[test]
    fn mediapipe_time_matches_the_simulated_clock_to_the_microsecond() {
        let mut simulated = Tracker::new(1, 0);
        let given = Tracker::new(1, 0).with_clock(Clock::Given);
        for index in [0u64, 1, 2, 29, 30, 12_345] {
            simulated.frame_count = index as i64 + 1;
            assert_eq!(
                given.time_ns(mediapipe_time(index)),
                simulated.time_ns(0.0),
                "frame {index}"
            );
        }
    }

    #[test]
    fn a_tracker_that_finds_nobody_adopts_handed_over_rois() {
        let mut r = rig(&[]);
        let mut t = Tracker::new(2, 0);
        let seen = r.frame(&mut t);
        assert!(seen.is_empty(), "the detector finds nobody");
        let mut helper = rig(&[(0.4, 0.5)]);
        let mut other = Tracker::new(2, 0);
        helper.frame(&mut other);
        let rois = other.next_rois();
        let people = t
            .track_or_adopt(&mut r.model, &r.image, 0.0, || rois.clone())
            .unwrap();
        assert_eq!(people.len(), 1, "the handed-over ROI finds the person");
        assert_eq!(
            t.num_tracks(),
            1,
            "and the tracker follows them from now on"
        );
    }

    #[test]
    fn a_tracker_that_follows_people_does_not_wait_for_handed_over_rois() {
        let mut r = rig(&[(0.5, 0.5)]);
        let mut t = Tracker::new(2, 0);
        r.frame(&mut t);
        let people = t
            .track_or_adopt(&mut r.model, &r.image, 0.0, || panic!("not consulted"))
            .unwrap();
        assert_eq!(people.len(), 1);
    }

    /// Regions that arrive late: `wait` hands them over, and counts the detector's calls
    /// made by then, so a test sees whether the detector ran before the wait.
    struct Late<'a> {
        rois: Vec<NormRect>,
        det_calls_at_wait: &'a mut Option<usize>,
        det_calls: &'a dyn Fn() -> usize,
    }

    impl HandOver for Late<'_> {
        fn arrived(&mut self) -> Option<Vec<NormRect>> {
            None
        }

        fn wait(&mut self) -> Vec<NormRect> {
            *self.det_calls_at_wait = Some((self.det_calls)());
            self.rois.clone()
        }
    }

    #[test]
    fn while_regions_are_late_the_detector_runs_first_and_the_answer_is_the_same() {
        for hand_over_someone in [false, true] {
            let mut r = rig(&[(0.5, 0.5)]);
            let handed = match hand_over_someone {
                false => Vec::new(),
                true => {
                    let mut other = Tracker::new(2, 0);
                    r.frame(&mut other);
                    other.next_rois()
                }
            };
            // The same frame with the regions there at once, and with them late.
            let mut on_time = Tracker::new(2, 0);
            let want = on_time.track_or_adopt(&mut r.model, &r.image, 0.0, || handed.clone());
            let before = r.det_calls();
            let counter = r.det.clone();
            let det_calls = move || counter.calls.load(SeqCst);
            let mut at_wait = None;
            let late = Late {
                rois: handed.clone(),
                det_calls_at_wait: &mut at_wait,
                det_calls: &det_calls,
            };
            let mut t = Tracker::new(2, 0);
            let got = t.track_or_adopt(&mut r.model, &r.image, 0.0, late);
            assert_eq!(got.unwrap(), want.unwrap(), "the same persons either way");
            assert_eq!(
                at_wait,
                Some(before + 1),
                "the detector ran before the wait"
            );
            assert!(
                t.early.is_none(),
                "no detections are left for the next frame"
            );
        }
    }

    #[test]
    fn handed_over_rois_come_before_the_detector() {
        let mut r = rig(&[(0.5, 0.5)]);
        let mut other = Tracker::new(2, 0);
        r.frame(&mut other);
        let rois = other.next_rois();
        let calls_before = r.det_calls();
        let mut t = Tracker::new(2, 0);
        let people = t
            .track_or_adopt(&mut r.model, &r.image, 0.0, || rois.clone())
            .unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!(
            r.det_calls(),
            calls_before,
            "the adopted track made detection unneeded"
        );
    }

    #[test]
    fn detects_first_then_tracks_without_the_detector() {
        let mut r = rig(&[(0.3, 0.5), (0.7, 0.5)]);
        let mut t = Tracker::new(2, 0);
        assert_eq!(r.frame(&mut t).len(), 2);
        assert_eq!((r.det_calls(), t.num_tracks()), (1, 2));
        for _ in 0..5 {
            let people = r.frame(&mut t);
            assert_eq!(people.len(), 2);
            // The fake keeps people where they are: the track stays on them.
            assert!((people[0].keypoints[0][0] - 0.3 * 640.0).abs() < 1.0);
        }
        assert_eq!(r.det_calls(), 1);
        assert_eq!(r.lm.calls.load(SeqCst), 12);
    }

    #[test]
    fn lost_tracks_are_dropped_and_redetected_on_the_same_frame() {
        let mut r = rig(&[(0.5, 0.5)]);
        let mut t = Tracker::new(1, 0);
        r.frame(&mut t);
        *r.lm.presence.lock().unwrap() = 0.3;
        assert!(r.frame(&mut t).is_empty());
        assert_eq!(
            (r.det_calls(), t.num_tracks()),
            (2, 0),
            "lost → detector on the same frame"
        );
        *r.lm.presence.lock().unwrap() = 0.9;
        assert_eq!(r.frame(&mut t).len(), 1);
        assert_eq!(
            r.det_calls(),
            3,
            "no tracks at the start of the frame → detect"
        );
    }

    #[test]
    fn mediapipe_mode_waits_a_frame_after_a_loss() {
        let mut r = rig(&[(0.5, 0.5)]);
        let mut t = Tracker::new(1, 0).with_redetect_on_loss(false);
        r.frame(&mut t);
        *r.lm.presence.lock().unwrap() = 0.3;
        r.frame(&mut t);
        assert_eq!(r.det_calls(), 1);
        *r.lm.presence.lock().unwrap() = 0.9;
        assert_eq!(r.frame(&mut t).len(), 1);
        assert_eq!(r.det_calls(), 2);
    }

    #[test]
    fn periodic_detection_adds_newcomers_but_not_tracked_people() {
        let mut r = rig(&[(0.3, 0.5)]);
        let mut t = Tracker::new(3, 3);
        r.frame(&mut t); // frame 1: detect
        r.det.people.lock().unwrap().push((0.7, 0.5));
        assert_eq!(r.frame(&mut t).len(), 1); // frame 2
        assert_eq!(r.frame(&mut t).len(), 1); // frame 3
        assert_eq!(r.det_calls(), 1);
        let lm_before = r.lm.calls.load(SeqCst);
        assert_eq!(
            r.frame(&mut t).len(),
            2,
            "frame 4: periodic detection finds the newcomer"
        );
        assert_eq!(r.det_calls(), 2);
        // One call for the track, one for the newcomer; the tracked person's detection is
        // recognised by its ROI and costs no landmark run.
        assert_eq!(r.lm.calls.load(SeqCst) - lm_before, 2);
        assert_eq!(t.num_tracks(), 2);
    }

    #[test]
    fn full_trackers_do_not_run_the_detector() {
        let mut r = rig(&[(0.3, 0.5)]);
        let mut t = Tracker::new(1, 1);
        for _ in 0..4 {
            r.frame(&mut t);
        }
        assert_eq!(r.det_calls(), 1);
    }

    #[test]
    fn duplicate_detections_make_one_track() {
        let mut r = rig(&[(0.5, 0.5), (0.503, 0.5)]);
        let mut t = Tracker::new(5, 0);
        assert_eq!(r.frame(&mut t).len(), 1);
        assert_eq!(t.num_tracks(), 1);
    }

    #[test]
    fn simulated_clock_ignores_given_time() {
        let mut t = Tracker::new(1, 0);
        t.frame_count = 2;
        assert_eq!(t.time_ns(123.0), 66_666_000);
        let t = Tracker::new(1, 0).with_clock(Clock::Given);
        assert_eq!(t.time_ns(0.5), 500_000_000);
    }
}
