//! Still images (`/v1/pose` bodies, the frames of an image-sequence folder): which format
//! the bytes are, and decoding them to RGB.
//!
//! Uses the `image` crate with only its JPEG and PNG decoders (pure Rust, no C build),
//! not FFmpeg: a single still needs none of its demuxing. `serve` decodes on the
//! inference workers, never on the async threads, because a large JPEG takes tens of
//! milliseconds.

use std::io::Cursor;

use ::image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::image::RgbImage;

/// The image formats `/v1/pose` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StillFormat {
    Jpeg,
    Png,
}

impl StillFormat {
    /// From the `Content-Type` the client declared (parameters ignored).
    pub fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(StillFormat::Jpeg),
            "image/png" => Some(StillFormat::Png),
            _ => None,
        }
    }

    /// From the bytes themselves (the magic numbers), which is what decides how they
    /// are decoded: a PNG labelled `image/jpeg` is still a PNG.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(StillFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(StillFormat::Png)
        } else {
            None
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            StillFormat::Jpeg => ImageFormat::Jpeg,
            StillFormat::Png => ImageFormat::Png,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StillFormat::Jpeg => "JPEG",
            StillFormat::Png => "PNG",
        }
    }
}

/// Pixels allowed in one image: 64 megapixels (8K is 33). A tiny PNG can claim a huge
/// size, so the limit is checked before anything is allocated.
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Decodes `bytes` as `format` into upright RGB (a JPEG's EXIF orientation is applied,
/// as photo viewers do, so the landmarks match the picture the user sees). The error
/// names the problem in words for the client.
pub fn decode_still(bytes: &[u8], format: StillFormat) -> Result<RgbImage, String> {
    if format == StillFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err("the JPEG data is corrupt: it stops before its end-of-image marker, so the picture is cut short (an interrupted upload or copy); send the whole file".into());
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::default();
    // RGBA at 16 bits per channel is the largest decoded form: 8 bytes a pixel.
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let corrupt = |e: ::image::ImageError| format!("the {} data is corrupt: {e}", format.name());
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "the image is {width}×{height}, more than {} megapixels; send a smaller image",
            MAX_PIXELS / (1024 * 1024)
        ));
    }
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    let rgb = image.into_rgb8();
    Ok(RgbImage {
        width: rgb.width(),
        height: rgb.height(),
        data: rgb.into_raw(),
    })
}

/// Whether a JPEG runs to its end-of-image marker (EOI). The JPEG decoder fills a cut
/// scan with grey instead of failing, so a truncated upload would decode to a picture
/// with nobody in it and answer "no people" rather than "corrupt".
///
/// Walks the markers from the start: a segment is skipped by its length (so the EOI of
/// a thumbnail inside EXIF does not count), and compressed data byte by byte, where
/// 0xFF is either stuffed (FF 00) or a restart marker, never EOI, until the real end.
/// Bytes after the EOI (some cameras append a second picture) do not matter.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    const EOI: u8 = 0xD9;
    let mut at = 2; // past SOI, which `sniff` checked
    loop {
        let Some(offset) = bytes
            .get(at..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
        else {
            return false;
        };
        at += offset + 1;
        let Some(&marker) = bytes.get(at) else {
            return false;
        };
        at += 1;
        match marker {
            EOI => return true,
            // Stuffed data, restart markers, TEM, fill bytes: no length follows.
            0x00 | 0x01 | 0xD0..=0xD7 => {}
            0xFF => at -= 1,
            _ => {
                let Some(length) = bytes.get(at..at + 2) else {
                    return false;
                };
                // The length counts its own two bytes; after SOS, the compressed data
                // follows and is scanned as above.
                at += usize::from(u16::from_be_bytes([length[0], length[1]]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: ImageFormat) -> Vec<u8> {
        let mut img = ::image::RgbImage::new(4, 2);
        img.put_pixel(1, 0, ::image::Rgb([200, 10, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn content_types_are_read_without_parameters() {
        assert_eq!(
            StillFormat::from_content_type("Image/PNG; charset=binary"),
            Some(StillFormat::Png)
        );
        assert_eq!(
            StillFormat::from_content_type("image/jpeg"),
            Some(StillFormat::Jpeg)
        );
        assert_eq!(StillFormat::from_content_type("text/plain"), None);
    }

    #[test]
    fn sniffing_goes_by_magic_numbers() {
        assert_eq!(
            StillFormat::sniff(&encoded(ImageFormat::Png)),
            Some(StillFormat::Png)
        );
        assert_eq!(
            StillFormat::sniff(&encoded(ImageFormat::Jpeg)),
            Some(StillFormat::Jpeg)
        );
        assert_eq!(StillFormat::sniff(b"GIF89a"), None);
        assert_eq!(StillFormat::sniff(b""), None);
    }

    #[test]
    fn png_decodes_exactly() {
        let image = decode_still(&encoded(ImageFormat::Png), StillFormat::Png).unwrap();
        assert_eq!((image.width, image.height), (4, 2));
        assert_eq!(image.pixel(1, 0), [200, 10, 30]);
        assert_eq!(image.pixel(0, 0), [0, 0, 0]);
    }

    #[test]
    fn truncated_data_is_called_corrupt() {
        let bytes = encoded(ImageFormat::Png);
        let err = decode_still(&bytes[..bytes.len() / 2], StillFormat::Png).unwrap_err();
        assert!(err.starts_with("the PNG data is corrupt"), "{err}");
    }

    #[test]
    fn a_cut_jpeg_is_corrupt_wherever_it_is_cut() {
        let whole = encoded(ImageFormat::Jpeg);
        assert!(jpeg_is_complete(&whole));
        for end in [
            3,
            whole.len() / 3,
            whole.len() / 2,
            whole.len() - 2,
            whole.len() - 1,
        ] {
            assert!(
                !jpeg_is_complete(&whole[..end]),
                "cut at {end} of {}",
                whole.len()
            );
        }
        let err = decode_still(&whole[..whole.len() - 2], StillFormat::Jpeg).unwrap_err();
        assert!(err.starts_with("the JPEG data is corrupt"), "{err}");
        // Bytes after the end (a camera's appended data) are no reason to refuse.
        let mut trailing = whole.clone();
        trailing.extend_from_slice(b"trailer");
        assert!(decode_still(&trailing, StillFormat::Jpeg).is_ok());
    }

    #[test]
    fn a_thumbnail_end_marker_does_not_make_a_cut_jpeg_complete() {
        let whole = encoded(ImageFormat::Jpeg);
        // An APP1 segment holding a whole JPEG (EOI included), as EXIF thumbnails are.
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&whole);
        let mut with_thumbnail = vec![0xFF, 0xD8, 0xFF, 0xE1];
        with_thumbnail.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
        with_thumbnail.extend_from_slice(&app1);
        with_thumbnail.extend_from_slice(&whole[2..]);
        assert!(jpeg_is_complete(&with_thumbnail));
        let cut = &with_thumbnail[..with_thumbnail.len() - 4];
        assert!(!jpeg_is_complete(cut));
    }

    #[test]
    fn a_huge_claimed_size_is_refused_before_allocating() {
        // A valid PNG start claiming 100000 × 100000 pixels, and nothing else.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // An empty IDAT: the decoder reads up to the first one before it gives the size.
        png.extend_from_slice(&0u32.to_be_bytes());
        png.extend_from_slice(b"IDAT");
        png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        let err = decode_still(&png, StillFormat::Png).unwrap_err();
        assert!(err.contains("100000×100000"), "{err}");
    }

    /// PNG's chunk checksum (CRC-32, IEEE), so the hand-made header is valid.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
