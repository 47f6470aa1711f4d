//! Tests of the HMR2 model wrapper with a fake engine: the contract check, one batch per
//! frame, and decoding of batched outputs per person.

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::*;
use crate::engine::{EngineError, Inference, ModelInfo, Outputs, TensorInfo};

fn tensor(name: &str, shape: &[i64]) -> TensorInfo {
    TensorInfo {
        name: name.into(),
        shape: shape.to_vec(),
    }
}

fn contract_info() -> ModelInfo {
    ModelInfo {
        name: "fake.onnx".into(),
        sha256: String::new(),
        inputs: vec![tensor("img", &[-1, 3, 256, 256])],
        outputs: vec![
            tensor("pred_cam", &[-1, 3]),
            tensor("global_orient", &[-1, 1, 3, 3]),
            tensor("body_pose", &[-1, 23, 3, 3]),
            tensor("betas", &[-1, 10]),
            tensor("pred_keypoints_3d", &[-1, 44, 3]),
        ],
        ..ModelInfo::default()
    }
}

/// Answers item i of a batch with s = 1 + i, global_orient = Rz(90°), betas = i, and
/// records the batch sizes it was called with and the mean of each item's input.
struct Fake {
    info: ModelInfo,
    calls: std::sync::Arc<std::sync::Mutex<Vec<Vec<f32>>>>,
}

impl Inference for Fake {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
        let n = input.shape()[0];
        let means = input.outer_iter().map(|x| x.mean().unwrap()).collect();
        self.calls.lock().unwrap().push(means);
        let mut out = Outputs::default();
        let mut push = |name: &str, shape: Vec<usize>, f: &dyn Fn(usize, usize) -> f32| {
            let per: usize = shape.iter().product();
            let data = (0..n * per).map(|k| f(k / per, k % per)).collect();
            let mut full = vec![n];
            full.extend(shape);
            out.names.push(name.into());
            out.arrays
                .push(ArrayD::from_shape_vec(IxDyn(&full), data).unwrap());
        };
        push("pred_cam", vec![3], &|i, k| [1.0 + i as f32, 0.0, 0.0][k]);
        let rz = [0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        push("global_orient", vec![1, 3, 3], &|_, k| rz[k]);
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        push("body_pose", vec![23, 3, 3], &|_, k| id[k % 9]);
        push("betas", vec![10], &|i, _| i as f32);
        push("pred_keypoints_3d", vec![44, 3], &|i, k| {
            (i * 1000 + k) as f32
        });
        Ok(out)
    }
}

#[test]
fn all_persons_of_a_frame_go_in_one_batch() {
    let calls = std::sync::Arc::default();
    let fake = Fake {
        info: contract_info(),
        calls: std::sync::Arc::clone(&calls),
    };
    let mut hmr2 = Hmr2::new(Box::new(fake)).unwrap();
    let mut image = RgbImage::new(200, 100);
    // Left half white, right half black: the two crops' inputs differ.
    for y in 0..100 {
        for x in 0..100 {
            let i = (y * 200 + x) * 3;
            image.data[i..i + 3].copy_from_slice(&[255; 3]);
        }
    }
    let boxes = [
        CropBox::from_bbox([20.0, 20.0, 80.0, 80.0], 1.2),
        CropBox::from_bbox([120.0, 20.0, 180.0, 80.0], 1.2),
    ];
    let smpl = hmr2.estimate(&image, &boxes).unwrap();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "one model call per frame");
    assert_eq!(calls[0].len(), 2);
    assert!(calls[0][0] > calls[0][1], "item order follows the boxes");
    assert_eq!(smpl.len(), 2);
    assert_eq!(smpl[1].betas, [1.0; 10]);
    assert_eq!(smpl[1].pred_cam, [2.0, 0.0, 0.0]);
    let aa = smpl[0].global_orient_aa();
    assert!((aa[2] - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    assert_eq!(smpl[0].body_pose_aa(), vec![[0.0; 3]; 23]);
    let kp = smpl[1].keypoints_3d.as_ref().unwrap();
    assert_eq!(
        (kp.len(), kp[0], kp[43][2]),
        (44, [1000.0, 1001.0, 1002.0], 1131.0)
    );
    assert!(smpl[0].vertices.is_none());
    // cam_t: box 1 is centred at (150, 50) in a 200×100 frame, size 96, s = 2.
    let f = 5000.0 / 256.0 * 200.0;
    assert!((smpl[1].focal_length - f).abs() < 1e-3);
    let bs = 96.0 * 2.0;
    assert!((smpl[1].cam_t[0] - 2.0 * 50.0 / bs).abs() < 1e-5);
    assert!((smpl[1].cam_t[2] - 2.0 * f / bs).abs() < 1e-2);
}

#[test]
fn no_persons_no_call() {
    let calls = std::sync::Arc::default();
    let fake = Fake {
        info: contract_info(),
        calls: std::sync::Arc::clone(&calls),
    };
    let mut hmr2 = Hmr2::new(Box::new(fake)).unwrap();
    assert!(hmr2.estimate(&RgbImage::new(4, 4), &[]).unwrap().is_empty());
    assert!(calls.lock().unwrap().is_empty());
}

#[test]
fn contract_accepts_the_documented_model() {
    check_contract(&contract_info()).unwrap();
    let mut info = contract_info();
    info.outputs.retain(|o| o.name != "pred_keypoints_3d");
    check_contract(&info).expect("keypoints are optional");
}

#[test]
fn contract_names_the_mismatch() {
    // BlazePose's landmark model as HMR2: NHWC input, other outputs.
    let mut info = contract_info();
    info.inputs = vec![tensor("input_1", &[1, 256, 256, 3])];
    let e = check_contract(&info).unwrap_err().to_string();
    assert!(e.contains("\"input_1\" [1, 256, 256, 3]"), "{e}");
    assert!(e.contains("\"img\" [batch, 3, 256, 256]"), "{e}");

    let mut info = contract_info();
    info.outputs.retain(|o| o.name != "betas");
    let e = check_contract(&info).unwrap_err().to_string();
    assert!(e.contains("no output \"betas\""), "{e}");

    let mut info = contract_info();
    info.outputs[2] = tensor("body_pose", &[-1, 23, 6]);
    let e = check_contract(&info).unwrap_err().to_string();
    assert!(
        e.contains("\"body_pose\" should be [batch, 23, 3, 3], found [batch, 23, 6]"),
        "{e}"
    );

    // Open sizes (as exporters write them) pass at load and are checked when run.
    let mut info = contract_info();
    info.outputs[2] = tensor("body_pose", &[-1, -1, -1, -1]);
    check_contract(&info).expect("open sizes are accepted at load");

    // A fixed batch axis cannot take all persons of a frame at once.
    let mut info = contract_info();
    info.inputs = vec![tensor("img", &[1, 3, 256, 256])];
    assert!(check_contract(&info).is_err());
}

#[test]
fn wrong_real_output_shape_is_caught_when_run() {
    // Declared open, but the model answers with 6D rotations instead of matrices.
    struct SixD(ModelInfo);
    impl Inference for SixD {
        fn info(&self) -> &ModelInfo {
            &self.0
        }
        fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
            let n = input.shape()[0];
            let mut out = Outputs::default();
            for (name, shape) in [
                ("pred_cam", vec![n, 3]),
                ("global_orient", vec![n, 1, 3, 3]),
                ("body_pose", vec![n, 23, 6]),
                ("betas", vec![n, 10]),
            ] {
                out.names.push(name.into());
                out.arrays.push(ArrayD::zeros(IxDyn(&shape)));
            }
            Ok(out)
        }
    }
    let mut info = contract_info();
    info.outputs[2] = tensor("body_pose", &[-1, -1, -1]);
    info.outputs.truncate(4);
    // Rank 3 declared for a rank-4 output is a load-time mismatch already:
    assert!(check_contract(&info).is_err());
    info.outputs[2] = tensor("body_pose", &[-1, -1, -1, -1]);
    let mut hmr2 = Hmr2::new(Box::new(SixD(info))).unwrap();
    let boxes = [CropBox::from_bbox([0.0, 0.0, 10.0, 10.0], 1.0)];
    let e = hmr2
        .estimate(&RgbImage::new(16, 16), &boxes)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"body_pose\" has shape [1, 23, 6]"), "{e}");
}
