//! PLACEHOLDER (being written)
use crate::image::RgbImage;
use crate::pose::Person;
pub fn draw_persons(_i: &mut RgbImage, _p: &[Person], _m: f32) {}
