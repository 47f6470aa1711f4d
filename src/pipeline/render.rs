//! PLACEHOLDER (being written)
use crate::image::RgbImage;
use std::path::Path;
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("x")]
    X,
}
pub struct Renderer;
impl Renderer {
    pub fn create(_p: &Path, _w: u32, _h: u32, _f: f64) -> Result<Renderer, RenderError> {
        todo!()
    }
    pub fn write(&mut self, _i: &RgbImage) -> Result<(), RenderError> {
        todo!()
    }
    pub fn finish(self) -> Result<(), RenderError> {
        todo!()
    }
}
