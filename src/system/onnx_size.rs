//! How many bytes an ONNX model occupies on disk: the `.onnx` file and every external data
//! file it names. A 2.7 GB HMR2 keeps nearly all its bytes beside the `.onnx` (whose own
//! size is a few hundred KB), and exporters name that file as they like (`x.onnx.data`,
//! `x.onnx_data`, `weights.bin`), so the names are read from the model itself.

use std::collections::BTreeSet;
use std::path::Path;

/// A `.onnx` larger than this holds its weights itself (protobuf's 2 GB limit makes
/// external data necessary only above that), so it is not scanned.
const SCAN_LIMIT: u64 = 64 << 20;

/// The `.onnx` file's size plus that of each distinct external data file it names (a
/// named file that is missing counts 0: loading the model will say so). When it names
/// none that can be read, `X.onnx.data` and `X.onnx_data` beside it count, if there.
pub fn model_bytes(path: &Path) -> std::io::Result<u64> {
    let own = std::fs::metadata(path)?.len();
    if own > SCAN_LIMIT {
        return Ok(own);
    }
    let bytes = std::fs::read(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut names = external_data_locations(&bytes);
    if names.is_empty() {
        // A model whose names could not be read: the exporters' usual names beside it.
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        names.extend([format!("{file}.data"), format!("{file}_data")]);
    }
    let external: u64 = names
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    Ok(own + external)
}

/// The `location` values of a model's external data entries. Each is an ONNX
/// `StringStringEntryProto` whose key is `location`: field 1 (`0x0a`, length 8,
/// "location") followed by field 2 (`0x12`, a varint length, the file name).
pub fn external_data_locations(model: &[u8]) -> BTreeSet<String> {
    const KEY: &[u8] = b"\x0a\x08location\x12";
    let mut found = BTreeSet::new();
    let mut at = 0;
    while let Some(offset) = find(&model[at..], KEY) {
        let start = at + offset + KEY.len();
        at = start;
        let Some((len, used)) = varint(&model[start..]) else {
            continue;
        };
        let value = start + used;
        let Some(name) = usize::try_from(len)
            .ok()
            .and_then(|len| model.get(value..value.checked_add(len)?))
        else {
            continue;
        };
        if let Ok(name) = std::str::from_utf8(name) {
            // Locations are relative to the model's folder; anything climbing out of it
            // is not counted (ONNX Runtime refuses it too).
            if !name.is_empty() && !name.starts_with('/') && !name.split('/').any(|c| c == "..") {
                found.insert(name.to_string());
            }
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A protobuf varint: the value and how many bytes it took.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Vec<u8> {
        let mut e = b"\x0a\x08location\x12".to_vec();
        e.push(name.len() as u8);
        e.extend_from_slice(name.as_bytes());
        e
    }

    #[test]
    fn locations_are_read_once_each_and_unsafe_ones_dropped() {
        let mut model = b"junk".to_vec();
        for name in ["w.bin", "w.bin", "x.onnx.data", "../etc/passwd", "/abs"] {
            model.extend(entry(name));
            model.extend_from_slice(b"\x0a\x06offset\x12\x011");
        }
        let found: Vec<String> = external_data_locations(&model).into_iter().collect();
        assert_eq!(found, ["w.bin", "x.onnx.data"]);
    }

    #[test]
    fn a_model_and_its_data_file_are_counted_together() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        let mut bytes = b"graph".to_vec();
        bytes.extend(entry("weights.bin"));
        bytes.extend(entry("gone.bin"));
        std::fs::write(&model, &bytes).unwrap();
        std::fs::write(dir.path().join("weights.bin"), vec![0u8; 1000]).unwrap();
        assert_eq!(model_bytes(&model).unwrap(), bytes.len() as u64 + 1000);
    }

    #[test]
    fn without_readable_names_the_usual_data_file_counts() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, vec![0u8; 100]).unwrap();
        std::fs::write(dir.path().join("m.onnx.data"), vec![0u8; 1000]).unwrap();
        assert_eq!(model_bytes(&model).unwrap(), 1100);
    }

    #[test]
    fn the_int8_fixture_names_its_data_file() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hmr2/hmr2_small.int8.onnx");
        let bytes = std::fs::read(&path).expect("the committed int8 fixture");
        let found: Vec<String> = external_data_locations(&bytes).into_iter().collect();
        assert_eq!(found, ["hmr2_small.int8.onnx.data"]);
        let data = std::fs::metadata(path.with_extension("onnx.data"))
            .unwrap()
            .len();
        assert_eq!(model_bytes(&path).unwrap(), bytes.len() as u64 + data);
    }
}
