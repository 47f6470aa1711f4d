//! Tests of the .npz writer: CRC-32, .npy headers, and the zip layout read back by hand.

use super::*;

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}

#[test]
fn crc32_check_value() {
    // The standard check value of CRC-32/ISO-HDLC.
    let mut c = Crc32::default();
    c.update(b"123456789");
    assert_eq!(c.finish(), 0xCBF4_3926);
}

/// Reads a stored zip: (name, data) per entry, checking each CRC and the central directory.
fn read_zip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let eocd = bytes.len() - 22 - ARCHIVE_COMMENT.len();
    assert_eq!(u32_at(bytes, eocd), 0x0605_4b50);
    let entries = u16_at(bytes, eocd + 10) as usize;
    let mut at = u32_at(bytes, eocd + 16) as usize;
    let mut out = Vec::new();
    for _ in 0..entries {
        assert_eq!(u32_at(bytes, at), 0x0201_4b50);
        let name_len = u16_at(bytes, at + 28) as usize;
        let local = u32_at(bytes, at + 42) as usize;
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).unwrap();
        assert_eq!(u32_at(bytes, local), 0x0403_4b50);
        assert_eq!(u16_at(bytes, local + 8), 0, "stored");
        let size = u32_at(bytes, local + 18) as usize;
        let start = local + 30 + u16_at(bytes, local + 26) as usize;
        let data = bytes[start..start + size].to_vec();
        let mut crc = Crc32::default();
        crc.update(&data);
        assert_eq!(crc.finish(), u32_at(bytes, local + 14), "{name} crc");
        out.push((name, data));
        at += 46 + name_len;
    }
    out
}

#[test]
fn arrays_round_trip_through_the_zip() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.npz");
    let mut w = NpzWriter::create(&target).unwrap();
    for row in 0..3 {
        w.push_i64("frame", 10 + row).unwrap();
        let r = row as f32;
        w.push_f32("betas", &[2, 2], &[r, r + 0.5, -r, 1.0])
            .unwrap();
    }
    assert!(!target.exists());
    assert_eq!(w.finish(false).unwrap(), target);
    assert!(
        is_posekit_npz(&target),
        "posekit's comment ends the archive"
    );
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("mine.npz"), b"PK not ours").unwrap();
    assert!(!is_posekit_npz(&other.path().join("mine.npz")));
    let entries = read_zip(&std::fs::read(&target).unwrap());
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["frame.npy", "betas.npy"]);

    let (_, frame) = &entries[0];
    assert_eq!(&frame[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16_at(frame, 8) as usize;
    assert_eq!((10 + header_len) % 64, 0, "data is 64-byte aligned");
    let header = std::str::from_utf8(&frame[10..10 + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<i8'") && header.contains("'shape': (3,)"),
        "{header}"
    );
    assert!(header.ends_with('\n'));
    let data = &frame[10 + header_len..];
    assert_eq!(i64::from_le_bytes(data[16..24].try_into().unwrap()), 12);

    let (_, betas) = &entries[1];
    let header_len = u16_at(betas, 8) as usize;
    let header = std::str::from_utf8(&betas[10..10 + header_len]).unwrap();
    assert!(header.contains("'shape': (3, 2, 2)"), "{header}");
    let data = &betas[10 + header_len..];
    assert_eq!(data.len(), 3 * 4 * 4);
    let f = |i: usize| f32::from_le_bytes(data[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!([f(4), f(5), f(6), f(7)], [1.0, 1.5, -1.0, 1.0]);

    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "spool and temporary are gone");
}

#[test]
fn ragged_arrays_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = NpzWriter::create(&dir.path().join("r.npz")).unwrap();
    w.push_i64("a", 1).unwrap();
    w.push_i64("a", 2).unwrap();
    w.push_i64("b", 1).unwrap();
    let e = w.finish(false).unwrap_err().to_string();
    assert!(e.contains("2 and 1 rows"), "{e}");
}

#[test]
fn zip64_records_when_offsets_pass_4_gib() {
    let e = Entry {
        name: "v.npy".into(),
        crc: 1,
        size: 5_000_000_000,
        offset: 0,
    };
    let h = e.central_header();
    assert_eq!(u32_at(&h, 20), 0xFFFF_FFFF);
    assert_eq!(u16_at(&h, 30), 28, "zip64 extra field");
    let end = end_records(1, 60, 5_000_000_100);
    assert_eq!(u32_at(&end, 0), 0x0606_4b50);
    assert_eq!(u32_at(&end, 56), 0x0706_4b50);
    let small = end_records(1, 60, 100);
    assert_eq!(small.len(), 22 + ARCHIVE_COMMENT.len());
}
