//! Plain RGB images and the affine sampling every model crop is made with.
//!
//! Holds no FFmpeg and no ort: frames arrive here already converted to RGB by
//! `pipeline::source`, and models read crops out of them as float tensors.

/// An 8-bit RGB image, rows packed with no padding (`stride == width * 3`).
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    /// `height` rows of `width * 3` bytes, R G B interleaved.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// A black image of the given size.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// The pixel at (x, y); the caller keeps x < width and y < height.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}
