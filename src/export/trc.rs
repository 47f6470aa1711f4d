//! The TRC export for OpenSim: one file per track, the 33 world landmarks as markers.
//!
//! BlazePose's world landmarks are in metres, centred between the hips, with x to the
//! person's image right, y down and z away from the camera (the image's axes). OpenSim
//! wants Y up; the markers are turned half a turn about X, (X, Y, Z) = (x, −y, −z), which
//! keeps the axes right-handed and leaves Z pointing toward the camera. Being hip-centred,
//! they carry no global trajectory: the pelvis stays at the origin.

use std::fmt::Write;

use super::landmarks::POSE2SIM;
use super::result::{Frame, Person};

/// One track's TRC file, named `file_name` in its first line.
pub fn render(file_name: &str, rate: f64, track: &[(&Frame, &Person)]) -> String {
    let mut out = String::new();
    let first = track.first().map_or(0, |(f, _)| f.frame);
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "PathFileType\t4\t(X/Y/Z)\t{file_name}\tposekit: BlazePose world landmarks, hip-centred (no global trajectory), Y up"
    );
    out.push_str(
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n",
    );
    let n = track.len();
    let _ = writeln!(out, "{rate}\t{rate}\t{n}\t33\tm\t{rate}\t{first}\t{n}");
    // Each name heads its three columns: the name, then two empty fields.
    let _ = writeln!(out, "Frame#\tTime\t{}", POSE2SIM.join("\t\t\t"));
    let axes: Vec<String> = (1..=33).map(|i| format!("X{i}\tY{i}\tZ{i}")).collect();
    let _ = writeln!(out, "\t\t{}", axes.join("\t"));
    out.push('\n');
    for (frame, person) in track {
        let _ = write!(out, "{}\t{}", frame.frame, frame.t);
        for w in &person.world {
            let [x, y, z] = opensim_axes(*w);
            let _ = write!(out, "\t{x}\t{y}\t{z}");
        }
        out.push('\n');
    }
    out
}

/// BlazePose world (x right, y down, z away from the camera) to OpenSim's Y up.
pub fn opensim_axes([x, y, z]: [f32; 3]) -> [f32; 3] {
    [x, -y, -z]
}
