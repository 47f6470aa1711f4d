//! The OpenPose JSON export that Pose2Sim reads with `pose_model = 'BLAZEPOSE'`: one file
//! per frame, `<stem>_<frame:012>_keypoints.json`, the keys Pose2Sim's own pose
//! estimation writes, the 33 landmarks in BlazePose's order (which Pose2Sim's BLAZEPOSE
//! skeleton indexes), confidence = visibility.

use serde::Serialize;

use super::result::Frame;

#[derive(Serialize)]
struct Page {
    version: f32,
    people: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    person_id: [i64; 1],
    pose_keypoints_2d: Vec<f32>,
    face_keypoints_2d: [f32; 0],
    hand_left_keypoints_2d: [f32; 0],
    hand_right_keypoints_2d: [f32; 0],
    pose_keypoints_3d: [f32; 0],
    face_keypoints_3d: [f32; 0],
    hand_left_keypoints_3d: [f32; 0],
    hand_right_keypoints_3d: [f32; 0],
}

/// The file name of one frame.
pub fn file_name(stem: &str, frame: u64) -> String {
    format!("{stem}_{frame:012}_keypoints.json")
}

/// One frame's file. A person without a track ID (a lone image) is `person_id: [-1]`,
/// as OpenPose writes; persons filled into gaps (`--fill-gaps`) are left out, since
/// they are not detections.
pub fn render(frame: &Frame) -> String {
    let people = frame
        .persons
        .iter()
        .filter(|p| !p.filled)
        .map(|p| Entry {
            person_id: [p.track_id.map_or(-1, i64::from)],
            pose_keypoints_2d: p
                .keypoints
                .iter()
                .flat_map(|k| [k[0], k[1], k[3]])
                .collect(),
            face_keypoints_2d: [],
            hand_left_keypoints_2d: [],
            hand_right_keypoints_2d: [],
            pose_keypoints_3d: [],
            face_keypoints_3d: [],
            hand_left_keypoints_3d: [],
            hand_right_keypoints_3d: [],
        })
        .collect();
    let page = Page {
        version: 1.3,
        people,
    };
    // Plain structs of numbers: serialising cannot fail.
    serde_json::to_string(&page).unwrap_or_default()
}
