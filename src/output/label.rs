//! A person's `track_id` on the overlay: digits from a 3 × 5 pixel font, scaled, on a
//! dark plate, in the colour that ID gets everywhere on the overlay.

use crate::image::Canvas;

/// Rows of each digit, top to bottom, 3 bits each (left bit first).
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

const PLATE: [u8; 3] = [20, 20, 20];

/// A colour per ID: hues a golden angle apart, so neighbouring IDs differ clearly.
pub fn id_colour(id: u32) -> [u8; 3] {
    let hue = (id as f32 * 0.618_034).fract() * 6.0;
    let (s, v) = (0.7, 1.0);
    let f = hue.fract();
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match hue as u32 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    [r, g, b].map(|c| (c * 255.0).round() as u8)
}

/// Writes `id` with its top-left corner at (x, y), each font pixel `scale` px wide;
/// clipped to the image.
pub fn draw_id(image: &mut dyn Canvas, id: u32, x: i64, y: i64, scale: i64, rgb: [u8; 3]) {
    let text = id.to_string();
    let (w, h) = ((4 * text.len() as i64 + 1) * scale, 7 * scale);
    fill_rect(image, x, y, w, h, PLATE);
    for (n, c) in text.bytes().enumerate() {
        let glyph = DIGITS[(c - b'0') as usize];
        let left = x + (1 + 4 * n as i64) * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) != 0 {
                    let (px, py) = (left + col * scale, y + (1 + row as i64) * scale);
                    fill_rect(image, px, py, scale, scale, rgb);
                }
            }
        }
    }
}

/// The label's height for `scale`, so a caller can place it above a box.
pub fn label_height(scale: i64) -> i64 {
    7 * scale
}

fn fill_rect(image: &mut dyn Canvas, x: i64, y: i64, w: i64, h: i64, rgb: [u8; 3]) {
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let (x0, x1) = (x.max(0), (x + w).min(iw));
    if x0 >= x1 {
        return;
    }
    for py in y.max(0)..(y + h).min(ih) {
        image.fill_row(py as u32, x0 as u32, x1 as u32, rgb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::RgbImage;

    #[test]
    fn digits_are_drawn_in_the_colour_on_a_plate() {
        let mut img = RgbImage::new(40, 20);
        draw_id(&mut img, 17, 2, 2, 2, [255, 0, 0]);
        // "1": middle column of the top row is lit; its top-left cell is plate.
        assert_eq!(img.pixel(2 + 2 + 2, 2 + 2), [255, 0, 0]);
        assert_eq!(img.pixel(2 + 2, 2 + 2), PLATE);
        // Past the label nothing is drawn.
        assert_eq!(img.pixel(39, 19), [0, 0, 0]);
        // Off the image: clipped, no panic.
        draw_id(&mut img, 123, -10, -10, 3, [1, 2, 3]);
        draw_id(&mut img, 5, 35, 15, 4, [1, 2, 3]);
    }

    #[test]
    fn neighbouring_ids_get_different_colours() {
        let colours: Vec<_> = (1..=8).map(id_colour).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
