//! The tidy CSV export: one row per frame × person × landmark.

use std::fmt::Write;

use super::landmarks::BLAZEPOSE;
use super::result::ResultFile;

pub const HEADER: &str = "frame,t,track_id,landmark,x,y,z,visibility,presence,wx,wy,wz";

/// The whole CSV. Numbers are written in their shortest form that reads back to the
/// same value (f32 for landmarks, f64 for `t`); `track_id` is empty for a lone image.
pub fn render(result: &ResultFile) -> String {
    let mut out = String::with_capacity(result.frames.len() * 33 * 120);
    out.push_str(HEADER);
    out.push('\n');
    for frame in &result.frames {
        for person in &frame.persons {
            let id = person.track_id.map(|id| id.to_string()).unwrap_or_default();
            for (i, (k, w)) in person.keypoints.iter().zip(&person.world).enumerate() {
                // Writing to a String cannot fail.
                let _ = writeln!(
                    out,
                    "{},{},{id},{},{},{},{},{},{},{},{},{}",
                    frame.frame,
                    frame.t,
                    BLAZEPOSE[i],
                    k[0],
                    k[1],
                    k[2],
                    k[3],
                    k[4],
                    w[0],
                    w[1],
                    w[2]
                );
            }
        }
    }
    out
}
