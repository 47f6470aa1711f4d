//! The comparison as a table for people; `--json` prints [`super::Comparison`] itself.

use comfy_table::{presets, Table};

use super::metrics::Distribution;
use super::Comparison;

pub fn table(c: &Comparison) -> String {
    let mut out = format!(
        "A: {}\nB: {}\nframes: {} in A, {} in B, {} compared; persons: {} in A, {} in B, {} matched \
         ({} frames with a different count)\n\n",
        c.a,
        c.b,
        c.frames_a,
        c.frames_b,
        c.frames_compared,
        c.persons_a,
        c.persons_b,
        c.persons_matched,
        c.frames_person_count_differs
    );
    let mut table = Table::new();
    table
        .load_preset(presets::ASCII_MARKDOWN)
        .set_header(vec!["measure", "n", "median", "p95", "max"]);
    let mut row = |name: &str, d: &Option<Distribution>, unit: &str, scale: f64| {
        let cells = match d {
            Some(d) => vec![
                name.to_string(),
                d.count.to_string(),
                format!("{:.4}{unit}", d.median * scale),
                format!("{:.4}{unit}", d.p95 * scale),
                format!("{:.4}{unit}", d.max * scale),
            ],
            None => vec![
                name.to_string(),
                "0".into(),
                "—".into(),
                "—".into(),
                "—".into(),
            ],
        };
        table.add_row(cells);
    };
    row("landmarks (of A's box diagonal)", &c.landmarks, " %", 100.0);
    if let Some(s) = &c.smpl {
        row(
            &format!("SMPL rotation, all joints ({})", s.rotations_from),
            &Some(s.rotation_deg),
            "°",
            1.0,
        );
        row("MPJPE on keypoints_3d", &s.mpjpe_mm, " mm", 1.0);
        row(
            "betas, largest abs. difference",
            &Some(s.betas_max_abs),
            "",
            1.0,
        );
        row("cam_t distance", &Some(s.cam_t_m), " m", 1.0);
        row(
            "cam_t distance / length of A's cam_t",
            &Some(s.cam_t_relative),
            " %",
            100.0,
        );
    }
    out.push_str(&table.to_string());
    out.push('\n');
    match &c.smpl {
        Some(s) => {
            let worst = s
                .rotation_deg_per_joint
                .iter()
                .max_by(|a, b| a.median.total_cmp(&b.median));
            if let Some(w) = worst {
                out.push_str(&format!(
                    "\nrotation error per joint (--json lists all 24): largest median {:.3}° at {}\n",
                    w.median, w.joint
                ));
            }
        }
        None => out
            .push_str("\nno SMPL blocks in both files (run both with --hmr2 to compare meshes)\n"),
    }
    out
}
