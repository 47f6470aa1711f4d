//! What a pose model finds in a frame, independent of the model that found it.

/// Number of landmarks in the BlazePose topology that posekit reports.
pub const NUM_LANDMARKS: usize = 33;

/// One person found in one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    /// Box around the person's landmarks in frame pixels: x1, y1, x2, y2.
    pub bbox: [f32; 4],
    /// Confidence that a person is there, 0..1 (the landmark model's pose-presence score).
    pub score: f32,
    /// Per landmark: x and y in frame pixels, z in the same scale as x (relative depth,
    /// hip-centred, as MediaPipe reports it), then visibility and presence as probabilities.
    pub keypoints: [[f32; 5]; NUM_LANDMARKS],
    /// Per landmark: x, y, z in metres, origin between the hips.
    pub world: [[f32; 3]; NUM_LANDMARKS],
    /// The body's size in pixels as MediaPipe's smoothing reads it: the side of the square
    /// its two auxiliary landmarks span (`OBJECT_SCALE_ROI`); 0 when unknown. Not written.
    pub object_scale: f32,
    /// Identity over time, from 1, given by the tracking stage (`crate::tracking`) in
    /// frame order; 0 before that stage and for a lone image.
    pub track_id: u32,
    /// True for a person interpolated into a gap of its track (`--fill-gaps`), not found.
    pub filled: bool,
}
