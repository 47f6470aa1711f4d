//! Pose2Sim itself reads posekit's OpenPose export: `scripts/pose2sim_check.sh` runs posekit
//! on the four cameras of Pose2Sim's Demo_SinglePerson, exports `--to openpose`, and runs
//! Pose2Sim's calibration conversion, person association and triangulation with
//! `pose_model = 'BLAZEPOSE'`. The venv comes from `scripts/setup.sh --with-test-tools`
//! (`POSEKIT_TEST_POSE2SIM`, set by `make test`); without it the test says skipped.

use std::path::Path;
use std::process::Command;

use crate::common::{stderr, stdout, Sandbox};

/// Pose2Sim's reprojection error on its demo from posekit's export was 9.4 px when this
/// test was written; a wrong keypoint order or axis sends it to hundreds.
const MAX_REPROJECTION_PX: f64 = 20.0;

#[test]
fn pose2sim_triangulates_posekits_openpose_export() {
    let Some(venv) = std::env::var_os("POSEKIT_TEST_POSE2SIM") else {
        eprintln!("skipped: POSEKIT_TEST_POSE2SIM is not set (make test sets it to the venv scripts/setup.sh --with-test-tools makes)");
        return;
    };
    if !Path::new(&venv).join("bin/python").is_file() {
        eprintln!("skipped: no Pose2Sim venv at {venv:?} (scripts/setup.sh --with-test-tools could not build it)");
        return;
    }
    let sandbox = Sandbox::new();
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/pose2sim_check.sh"
    ))
    .arg(sandbox.path("work"))
    .env("POSE2SIM_VENV", &venv)
    .env("POSEKIT", env!("CARGO_BIN_EXE_posekit"))
    .env("XDG_CONFIG_HOME", sandbox.path("xdg"))
    .output()
    .expect("the check runs");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let error: f64 = text
        .lines()
        .find(|l| l.contains("Mean reprojection error for all points"))
        .and_then(|l| l.split(" is ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|px| px.parse().ok())
        .unwrap_or_else(|| panic!("no reprojection error in:\n{text}"));
    eprintln!("Pose2Sim's mean reprojection error on posekit's export: {error} px");
    assert!(
        error < MAX_REPROJECTION_PX,
        "Pose2Sim's reprojection error {error} px"
    );
}
