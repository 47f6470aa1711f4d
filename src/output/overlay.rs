//! Drawing poses onto frames for the overlay video: boxes, the BlazePose skeleton and its
//! joints, in plain Rust so that it is testable without FFmpeg or a display.

use super::label::{draw_id, id_colour, label_height};
use crate::image::Canvas;
use crate::pose::{Person, NUM_LANDMARKS};

/// Which side of the body a bone belongs to; the sides get distinct colours so that a
/// left/right swap by the model is visible at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
    Centre,
}

/// The 35 bones of MediaPipe's `POSE_CONNECTIONS` over the 33 BlazePose landmarks
/// (0 nose; 1–3 left eye, 4–6 right eye, 7/8 ears, 9/10 mouth; from 11 on, odd is the
/// person's left and even their right: shoulders, elbows, wrists, hand points, hips,
/// knees, ankles, heels, foot tips).
#[rustfmt::skip] // one line per body part reads better than one line per bone
pub const BLAZEPOSE_CONNECTIONS: [(usize, usize, Side); 35] = {
    use Side::{Centre as C, Left as L, Right as R};
    [
        // face
        (0, 1, L), (1, 2, L), (2, 3, L), (3, 7, L),
        (0, 4, R), (4, 5, R), (5, 6, R), (6, 8, R),
        (9, 10, C),
        // torso
        (11, 12, C), (11, 23, L), (12, 24, R), (23, 24, C),
        // left arm and hand
        (11, 13, L), (13, 15, L), (15, 17, L), (15, 19, L), (15, 21, L), (17, 19, L),
        // right arm and hand
        (12, 14, R), (14, 16, R), (16, 18, R), (16, 20, R), (16, 22, R), (18, 20, R),
        // left leg and foot
        (23, 25, L), (25, 27, L), (27, 29, L), (29, 31, L), (27, 31, L),
        // right leg and foot
        (24, 26, R), (26, 28, R), (28, 30, R), (30, 32, R), (28, 32, R),
    ]
};

const LEFT: [u8; 3] = [255, 140, 0];
const RIGHT: [u8; 3] = [0, 170, 255];
const CENTRE: [u8; 3] = [235, 235, 235];
const BOX: [u8; 3] = [70, 230, 70];

fn colour(side: Side) -> [u8; 3] {
    match side {
        Side::Left => LEFT,
        Side::Right => RIGHT,
        Side::Centre => CENTRE,
    }
}

/// The side a single landmark is on, for the colour of its joint dot.
fn landmark_side(i: usize) -> Side {
    match i {
        0 => Side::Centre,
        1..=3 | 7 | 9 => Side::Left,
        4..=6 | 8 | 10 => Side::Right,
        i if i % 2 == 1 => Side::Left,
        _ => Side::Right,
    }
}

/// Draws each person's box and ID (one colour per ID), the bones between landmarks that are both visible, and a dot
/// on each landmark with visibility ≥ `min_visibility`. Line width scales with the frame
/// (2 px up to 800 px wide, then width/400) so overlays read the same at any size.
/// Anything outside the image is clipped; non-finite coordinates are skipped.
pub fn draw_persons(image: &mut dyn Canvas, persons: &[Person], min_visibility: f32) {
    if image.width() == 0 || image.height() == 0 {
        return;
    }
    let thickness = (image.width() / 400).max(2) as f32;
    for person in persons {
        let [x1, y1, x2, y2] = person.bbox;
        let box_width = (thickness / 2.0).max(1.0);
        // One colour per identity for the box and its label (green before tracking).
        let box_colour = match person.track_id {
            0 => BOX,
            id => id_colour(id),
        };
        for (a, b) in [
            ((x1, y1), (x2, y1)),
            ((x2, y1), (x2, y2)),
            ((x2, y2), (x1, y2)),
            ((x1, y2), (x1, y1)),
        ] {
            draw_line(image, a, b, box_width, box_colour);
        }
        if person.track_id > 0 && x1.is_finite() && y1.is_finite() {
            let scale = thickness.round() as i64;
            let (x, y) = (x1.clamp(-1e6, 1e6) as i64, y1.clamp(-1e6, 1e6) as i64);
            let top = (y - label_height(scale)).max(0);
            draw_id(image, person.track_id, x, top, scale, box_colour);
        }
        let kp = &person.keypoints;
        let visible = |i: usize| kp[i][3] >= min_visibility;
        for &(a, b, side) in &BLAZEPOSE_CONNECTIONS {
            if visible(a) && visible(b) {
                draw_line(
                    image,
                    (kp[a][0], kp[a][1]),
                    (kp[b][0], kp[b][1]),
                    thickness,
                    colour(side),
                );
            }
        }
        for (i, p) in kp.iter().enumerate().take(NUM_LANDMARKS) {
            if visible(i) {
                fill_circle(image, p[0], p[1], thickness + 1.0, colour(landmark_side(i)));
            }
        }
    }
}

/// A line `thickness` px wide with round ends: the segment is first clipped to the image
/// (so points far outside cost nothing), then discs are stamped one pixel apart.
fn draw_line(image: &mut dyn Canvas, a: (f32, f32), b: (f32, f32), thickness: f32, rgb: [u8; 3]) {
    let r = thickness / 2.0;
    let bounds = (
        -r,
        -r,
        image.width() as f32 - 1.0 + r,
        image.height() as f32 - 1.0 + r,
    );
    let Some((a, b)) = clip(a, b, bounds) else {
        return;
    };
    let steps = (b.0 - a.0).hypot(b.1 - a.1).ceil().max(1.0) as u32;
    for s in 0..=steps {
        let t = s as f32 / steps as f32;
        fill_circle(image, a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, r, rgb);
    }
}

/// Liang–Barsky clipping of segment a→b to the rectangle (x0, y0, x1, y1); None when the
/// segment misses it or has a non-finite end.
fn clip(
    a: (f32, f32),
    b: (f32, f32),
    (x0, y0, x1, y1): (f32, f32, f32, f32),
) -> Option<((f32, f32), (f32, f32))> {
    if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    let edges = [
        (-dx, a.0 as f64 - x0 as f64),
        (dx, x1 as f64 - a.0 as f64),
        (-dy, a.1 as f64 - y0 as f64),
        (dy, y1 as f64 - a.1 as f64),
    ];
    for (p, q) in edges {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| ((a.0 as f64 + dx * t) as f32, (a.1 as f64 + dy * t) as f32);
    Some((at(t0), at(t1)))
}

/// Sets every pixel whose centre lies within `r` of (cx, cy): on each row, the pixels
/// inside form one span (the disc is convex), painted at once.
fn fill_circle(image: &mut dyn Canvas, cx: f32, cy: f32, r: f32, rgb: [u8; 3]) {
    if !(cx.is_finite() && cy.is_finite()) {
        return;
    }
    let (w, h) = (image.width() as i64, image.height() as i64);
    let xs = ((cx - r).floor() as i64).max(0)..=((cx + r).ceil() as i64).min(w - 1);
    let ys = ((cy - r).floor() as i64).max(0)..=((cy + r).ceil() as i64).min(h - 1);
    for y in ys {
        let dy = y as f32 - cy;
        let inside = |x: &i64| {
            let dx = *x as f32 - cx;
            dx * dx + dy * dy <= r * r
        };
        let Some(first) = xs.clone().find(inside) else {
            continue;
        };
        let last = xs.clone().rev().find(inside).unwrap_or(first);
        image.fill_row(y as u32, first as u32, last as u32 + 1, rgb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::RgbImage;

    fn lit(img: &RgbImage) -> Vec<(u32, u32)> {
        (0..img.height)
            .flat_map(|y| (0..img.width).map(move |x| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y) != [0, 0, 0])
            .collect()
    }

    /// A person standing in a 200×200 frame, every landmark at the given visibility.
    fn person(visibility: f32) -> Person {
        let mut keypoints = [[0.0; 5]; NUM_LANDMARKS];
        for (i, k) in keypoints.iter_mut().enumerate() {
            let side = if landmark_side(i) == Side::Left {
                1.0
            } else {
                -1.0
            };
            *k = [
                100.0 + side * 15.0,
                40.0 + i as f32 * 4.0,
                0.0,
                visibility,
                1.0,
            ];
        }
        Person {
            bbox: [60.0, 20.0, 140.0, 190.0],
            score: 0.9,
            keypoints,
            world: [[0.0; 3]; NUM_LANDMARKS],
            object_scale: 0.0,
            track_id: 0,
            filled: false,
        }
    }

    #[test]
    fn a_line_sets_pixels_on_it_and_none_far_from_it() {
        let mut img = RgbImage::new(100, 100);
        draw_line(&mut img, (10.0, 10.0), (90.0, 50.0), 3.0, [255, 0, 0]);
        assert_eq!(img.pixel(50, 30), [255, 0, 0]);
        assert_eq!(img.pixel(10, 10), [255, 0, 0]);
        for (x, y) in lit(&img) {
            // Distance from (x, y) to the segment's line, which the whole segment lies on.
            let d = ((40.0 * x as f32 - 80.0 * y as f32 + 400.0) / 40f32.hypot(80.0)).abs();
            assert!(
                d <= 1.5 && (8..=92).contains(&x),
                "({x}, {y}) is {d} px away"
            );
        }
    }

    #[test]
    fn clipping_far_outside_does_not_panic() {
        let mut img = RgbImage::new(50, 30);
        draw_line(&mut img, (-1e9, -1e9), (1e9, 6e8), 4.0, [1, 2, 3]);
        draw_line(&mut img, (-100.0, 15.0), (200.0, 15.0), 2.0, [9, 9, 9]);
        draw_line(&mut img, (f32::NAN, 0.0), (10.0, 10.0), 2.0, [7, 7, 7]);
        draw_line(&mut img, (-50.0, -50.0), (-10.0, -60.0), 2.0, [5, 5, 5]);
        assert_eq!(img.pixel(0, 15), [9, 9, 9]);
        assert_eq!(img.pixel(49, 15), [9, 9, 9]);
        let mut p = person(1.0);
        p.bbox = [-1e30, -5.0, f32::INFINITY, 1e12];
        for k in &mut p.keypoints {
            (k[0], k[1]) = (k[0] * 1e7, -k[1] * 1e7);
        }
        draw_persons(&mut img, &[p], 0.5);
        draw_persons(&mut RgbImage::new(0, 0), &[person(1.0)], 0.5);
    }

    #[test]
    fn low_visibility_draws_the_box_but_no_joints() {
        let mut img = RgbImage::new(200, 200);
        draw_persons(&mut img, &[person(0.1)], 0.5);
        let drawn = lit(&img);
        assert!(!drawn.is_empty(), "the box is drawn");
        assert!(
            drawn.iter().all(|&(x, y)| img.pixel(x, y) == BOX),
            "only box pixels"
        );
        assert_eq!(img.pixel(100, 100), [0, 0, 0], "nothing inside the box");
    }

    #[test]
    fn visible_person_gets_left_and_right_colours() {
        let mut img = RgbImage::new(200, 200);
        draw_persons(&mut img, &[person(0.9)], 0.5);
        let k = person(0.9).keypoints;
        assert_eq!(
            img.pixel(k[25][0] as u32, k[25][1] as u32),
            LEFT,
            "left knee"
        );
        assert_eq!(
            img.pixel(k[26][0] as u32, k[26][1] as u32),
            RIGHT,
            "right knee"
        );
        assert_eq!(img.pixel(k[0][0] as u32, k[0][1] as u32), CENTRE, "nose");
    }
}
