//! HMR2.0's fixed numbers and the ONNX contract posekit holds models to
//! (`docs/hmr2-onnx.md`). Values come from 4D-Humans' `hmr2/configs` and `demo.py`.

/// The crop is a 256×256 square; the backbone itself reads the middle 256×192.
pub const CROP_SIZE: usize = 256;

/// `BBOX_SHAPE` in 4D-Humans: boxes are grown to this width:height before squaring, so a
/// standing person fills the 192 columns the ViT actually sees.
pub const BBOX_ASPECT: [f32; 2] = [192.0, 256.0];

/// 4D-Humans grows boxes made from keypoints by 1.2 (detector boxes by 1.0): keypoints
/// sit inside the body outline, so their tight box cuts off hands, feet and the head.
pub const KEYPOINT_BOX_RESCALE: f32 = 1.2;

/// ImageNet statistics on the 0..255 scale (`DEFAULT_MEAN`, `DEFAULT_STD` × 255 in
/// 4D-Humans), RGB order.
pub const MEAN: [f32; 3] = [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0];
pub const STD: [f32; 3] = [0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0];

/// The anti-alias blur starts when `size / CROP_SIZE / 2` exceeds this (ViTDetDataset).
pub const BLUR_TRIGGER: f32 = 1.1;

/// `EXTRA.FOCAL_LENGTH` for a 256-pixel crop; the full image uses it scaled by
/// `max(W, H) / 256`.
pub const FOCAL_LENGTH_CROP: f32 = 5000.0;

/// Body joints in `body_pose` (SMPL has 24 joints; the root is `global_orient`).
pub const NUM_BODY_JOINTS: usize = 23;
pub const NUM_BETAS: usize = 10;
/// SMPL's 24 joint names, in its order: the root (`global_orient`'s joint), then the
/// 23 of `body_pose`.
pub const SMPL_JOINTS: [&str; 24] = [
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
];

/// SMPL's vertex count, for `pred_vertices`.
pub const NUM_VERTICES: usize = 6890;

/// The input tensor's name and shape; `-1` is the dynamic batch axis.
pub const INPUT: (&str, [i64; 4]) = ("img", [-1, 3, CROP_SIZE as i64, CROP_SIZE as i64]);

/// One output of the contract: name, shape after the batch axis, and whether required.
pub struct OutputSpec {
    pub name: &'static str,
    /// Dimensions after the batch axis; `None` accepts any size there.
    pub dims: &'static [Option<i64>],
    pub required: bool,
}

pub const OUTPUTS: [OutputSpec; 6] = [
    OutputSpec {
        name: "pred_cam",
        dims: &[Some(3)],
        required: true,
    },
    OutputSpec {
        name: "global_orient",
        dims: &[Some(1), Some(3), Some(3)],
        required: true,
    },
    OutputSpec {
        name: "body_pose",
        dims: &[Some(NUM_BODY_JOINTS as i64), Some(3), Some(3)],
        required: true,
    },
    OutputSpec {
        name: "betas",
        dims: &[Some(NUM_BETAS as i64)],
        required: true,
    },
    // 44 with 4D-Humans' SMPL layer (SMPL's 24 joints + extra regressor), but a model
    // with its own joint set is still useful, so any count is accepted.
    OutputSpec {
        name: "pred_keypoints_3d",
        dims: &[None, Some(3)],
        required: false,
    },
    OutputSpec {
        name: "pred_vertices",
        dims: &[Some(NUM_VERTICES as i64), Some(3)],
        required: false,
    },
];
