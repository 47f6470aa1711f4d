//! PLACEHOLDER (being written)
use crate::image::RgbImage;
use std::path::Path;
pub struct Frame {
    pub index: u64,
    pub t: f64,
    pub image: RgbImage,
}
#[derive(Clone, Debug, serde::Serialize)]
pub struct VideoInfo {
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub codec: String,
    pub frames: Option<u64>,
    pub rotation: i32,
    pub color_matrix: String,
}
pub enum SourceEvent {
    Frame(Frame),
    Skipped { index: u64, reason: String },
}
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("x")]
    X,
}
pub struct VideoSource {
    info: VideoInfo,
}
impl VideoSource {
    pub fn open(_p: &Path) -> Result<VideoSource, SourceError> {
        todo!()
    }
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }
    pub fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        todo!()
    }
}
