//! Test helpers: a standing person at a place, and a frame that holds persons.

use super::TrackedFrame;
use crate::pose::{Person, NUM_LANDMARKS};

/// A person about 80 × 160 px whose keypoints spread down from (x, y), all visible.
pub fn person_at(x: f32, y: f32) -> Person {
    let mut keypoints = [[0.0; 5]; NUM_LANDMARKS];
    for (i, k) in keypoints.iter_mut().enumerate() {
        let side = if i % 2 == 0 { 1.0 } else { -1.0 };
        *k = [
            x + side * 40.0 * (i as f32 / 32.0),
            y + 5.0 * i as f32,
            0.0,
            0.9,
            0.9,
        ];
    }
    Person {
        bbox: crate::models::blazepose::landmarks::bounding_box(&keypoints),
        score: 0.9,
        keypoints,
        world: [[0.0; 3]; NUM_LANDMARKS],
        object_scale: 160.0,
        track_id: 0,
        filled: false,
    }
}

/// A frame for the stages' tests.
#[derive(Debug)]
pub struct Frame {
    pub index: u64,
    pub persons: Vec<Person>,
}

impl Frame {
    pub fn new(index: u64, persons: Vec<Person>) -> Self {
        Frame { index, persons }
    }
}

impl TrackedFrame for Frame {
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
