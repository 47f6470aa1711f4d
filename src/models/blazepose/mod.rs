//! PLACEHOLDER (being written)
use crate::engine::{EngineError, Inference};
use crate::image::RgbImage;
use crate::pose::Person;
pub struct BlazePose {
    _d: Box<dyn Inference>,
    _l: Box<dyn Inference>,
}
impl BlazePose {
    pub fn new(d: Box<dyn Inference>, l: Box<dyn Inference>) -> Result<Self, EngineError> {
        Ok(Self { _d: d, _l: l })
    }
    pub fn detect_persons(&mut self, _i: &RgbImage, _m: usize) -> Result<Vec<Person>, EngineError> {
        todo!()
    }
}
pub struct Tracker;
impl Tracker {
    pub fn new(_m: usize, _k: u32) -> Self {
        Tracker
    }
    pub fn track(
        &mut self,
        _b: &mut BlazePose,
        _i: &RgbImage,
        _t: f64,
    ) -> Result<Vec<Person>, EngineError> {
        todo!()
    }
}
