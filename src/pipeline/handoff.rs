//! Hand-over between video-mode workers: each worker publishes, per frame, the regions
//! where it will look for people next; a worker that finds nobody on its frame `t` may
//! follow the regions published for frame `t - 1`.
//!
//! Worker `w` of `N` tracks frames `w, w+N, …`, so its own tracks are `N` frames old and
//! a worker starts cold at the beginning and after every loss. The person detector misses
//! people that tracking keeps (on a backlit clip MediaPipe's detector finds someone in
//! 60% of frames, its tracking in 97%), so taking over a neighbour's tracks is what keeps
//! recall with several workers. Waiting on frame `t - 1` exactly (not "whatever is newest")
//! keeps the result independent of thread timing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::models::blazepose::roi::NormRect;

/// How many frames of regions are kept; a waiter is never more than a few frames behind
/// the newest publication, since workers take frames in order.
const KEPT_FRAMES: u64 = 256;

/// How often a waiter re-checks whether the run is stopping.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The published regions, by frame sequence number.
#[derive(Default)]
pub struct Handoff {
    published: Mutex<BTreeMap<u64, Vec<NormRect>>>,
    changed: Condvar,
}

impl Handoff {
    /// Records the regions frame `seq`'s worker will track into its next frame.
    pub fn publish(&self, seq: u64, rois: Vec<NormRect>) {
        let Ok(mut published) = self.published.lock() else {
            return;
        };
        published.insert(seq, rois);
        let oldest = seq.saturating_sub(KEPT_FRAMES);
        while published
            .first_key_value()
            .is_some_and(|(&k, _)| k < oldest)
        {
            published.pop_first();
        }
        self.changed.notify_all();
    }

    /// The regions published for frame `seq` if they are there, without waiting.
    pub fn published(&self, seq: u64) -> Option<Vec<NormRect>> {
        let published = self.published.lock().ok()?;
        published.get(&seq).cloned()
    }

    /// The regions published for frame `seq`, waiting for them if needed. Returns none
    /// when the run is stopping (`stop`), so a failed worker can never hang another.
    pub fn wait_for(&self, seq: u64, stop: &AtomicBool) -> Vec<NormRect> {
        let Ok(mut published) = self.published.lock() else {
            return Vec::new();
        };
        loop {
            if let Some(rois) = published.get(&seq) {
                return rois.clone();
            }
            let forgotten = published
                .last_key_value()
                .is_some_and(|(&newest, _)| seq < newest.saturating_sub(KEPT_FRAMES));
            if forgotten || stop.load(Ordering::SeqCst) {
                return Vec::new();
            }
            published = match self.changed.wait_timeout(published, STOP_POLL) {
                Ok((guard, _)) => guard,
                Err(_) => return Vec::new(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn roi(x: f32) -> NormRect {
        NormRect {
            x_center: x,
            y_center: 0.5,
            width: 0.2,
            height: 0.2,
            rotation: 0.0,
        }
    }

    #[test]
    fn a_waiter_gets_what_is_published_later() {
        let handoff = Arc::new(Handoff::default());
        let stop = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (h, s) = (Arc::clone(&handoff), Arc::clone(&stop));
            std::thread::spawn(move || h.wait_for(3, &s))
        };
        std::thread::sleep(Duration::from_millis(20));
        handoff.publish(2, vec![roi(0.1)]);
        handoff.publish(3, vec![roi(0.3)]);
        assert_eq!(waiter.join().unwrap(), vec![roi(0.3)]);
    }

    #[test]
    fn stopping_releases_a_waiter() {
        let handoff = Handoff::default();
        let stop = AtomicBool::new(true);
        assert!(handoff.wait_for(7, &stop).is_empty());
    }

    #[test]
    fn old_frames_are_forgotten() {
        let handoff = Handoff::default();
        for seq in 0..KEPT_FRAMES + 10 {
            handoff.publish(seq, vec![roi(0.5)]);
        }
        let published = handoff.published.lock().unwrap();
        assert!(published.len() as u64 <= KEPT_FRAMES + 1);
        assert!(!published.contains_key(&0));
    }
}
