//! A NumPy `.npz` writer: a zip archive of `.npy` arrays, stored (not compressed), that
//! `numpy.load` reads.
//!
//! Rows are appended one at a time (one per person and frame) and spooled to a temporary
//! file per array, so memory stays flat however long the video; `finish` writes the zip
//! (Zip64 where an array passes 4 GiB, as the mesh can on long videos) and renames it
//! into place by the rules of [`crate::files`]. The archive's zip comment says posekit
//! wrote it, so a later interrupted run knows which `.partial.npz` it may replace.
//! Hand-written because the format needs only a CRC-32 and three record
//! types, far less than a zip crate brings.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::files::{keep, resolve_for_writing, Resolved, TempFile};

/// The zip comment of every archive posekit writes (numpy ignores it).
const ARCHIVE_COMMENT: &[u8] = b"written by posekit";

/// Element types written: little-endian f32 and i64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    I64,
    /// A fixed-width string of this many characters, UTF-32 (numpy's `<U`).
    Unicode(usize),
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::I64 => 8,
            Dtype::Unicode(chars) => 4 * chars,
        }
    }

    fn descr(self) -> String {
        match self {
            Dtype::F32 => "<f4".to_string(),
            Dtype::I64 => "<i8".to_string(),
            Dtype::Unicode(chars) => format!("<U{chars}"),
        }
    }
}

/// One array being built: its rows so far live in `spool`.
struct Column {
    name: String,
    dtype: Dtype,
    row_shape: Vec<usize>,
    spool_path: PathBuf,
    spool: BufWriter<File>,
    rows: u64,
    /// Stored whole, with no leading row axis (a per-file value such as `betas`).
    whole: bool,
}

/// Builds an `.npz` at `target`; see the module docs.
pub struct NpzWriter {
    target: Resolved,
    columns: Vec<Column>,
    /// Declared after `columns`, so the spool files are closed before it is removed.
    spool_dir: TempFile,
}

fn io_context(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl NpzWriter {
    /// Fails early when the folder is unwritable.
    pub fn create(target: &Path) -> std::io::Result<Self> {
        let target = resolve_for_writing(target).map_err(std::io::Error::other)?;
        let spool_dir = TempFile::folder_beside(&target.real);
        std::fs::create_dir(spool_dir.path()).map_err(|e| io_context(&target.given, e))?;
        Ok(Self {
            target,
            spool_dir,
            columns: Vec::new(),
        })
    }

    /// Appends one row of f32 array `name` (rows of shape `row_shape`; `[]` for scalars).
    pub fn push_f32(
        &mut self,
        name: &str,
        row_shape: &[usize],
        row: &[f32],
    ) -> std::io::Result<()> {
        let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, Dtype::F32, row_shape, &bytes)
    }

    /// Stores array `name` whole: exactly `shape` (`[]` for a scalar), no row axis.
    pub fn set_f32(&mut self, name: &str, shape: &[usize], values: &[f32]) -> std::io::Result<()> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, Dtype::F32, shape, &bytes)?;
        self.mark_whole(name);
        Ok(())
    }

    /// Stores the 0-d string `name` (numpy reads it as `str(z[name])`).
    pub fn set_str(&mut self, name: &str, value: &str) -> std::io::Result<()> {
        let bytes: Vec<u8> = value
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        self.push(name, Dtype::Unicode(value.chars().count()), &[], &bytes)?;
        self.mark_whole(name);
        Ok(())
    }

    fn mark_whole(&mut self, name: &str) {
        if let Some(column) = self.columns.iter_mut().find(|c| c.name == name) {
            column.whole = true;
        }
    }

    /// Appends one i64 scalar row to array `name`.
    pub fn push_i64(&mut self, name: &str, value: i64) -> std::io::Result<()> {
        self.push(name, Dtype::I64, &[], &value.to_le_bytes())
    }

    fn push(
        &mut self,
        name: &str,
        dtype: Dtype,
        row_shape: &[usize],
        bytes: &[u8],
    ) -> std::io::Result<()> {
        let row_len = row_shape.iter().product::<usize>() * dtype.size();
        assert_eq!(bytes.len(), row_len, "row of {name} has the wrong size");
        let i = match self.columns.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                let spool_path = self
                    .spool_dir
                    .path()
                    .join(format!("{}.bin", self.columns.len()));
                let file = File::create(&spool_path).map_err(|e| io_context(&spool_path, e))?;
                self.columns.push(Column {
                    name: name.to_string(),
                    dtype,
                    row_shape: row_shape.to_vec(),
                    spool_path,
                    spool: BufWriter::new(file),
                    rows: 0,
                    whole: false,
                });
                self.columns.len() - 1
            }
        };
        let column = &mut self.columns[i];
        assert!(
            column.dtype == dtype && column.row_shape == row_shape,
            "{name} changed shape"
        );
        column.spool.write_all(bytes)?;
        column.rows += 1;
        Ok(())
    }

    /// Writes the archive and moves it into place (the `.partial.npz` name when
    /// `interrupted`); returns where it went. Every array must have the same row count.
    pub fn finish(mut self, interrupted: bool) -> std::io::Result<PathBuf> {
        let mut per_row = self.columns.iter().filter(|c| !c.whole);
        if let Some(first) = per_row.next() {
            if let Some(c) = per_row.find(|c| c.rows != first.rows) {
                return Err(std::io::Error::other(format!(
                    "npz arrays {} and {} have {} and {} rows",
                    first.name, c.name, first.rows, c.rows
                )));
            }
        }
        let temp = TempFile::beside(&self.target.real);
        self.write_zip(temp.path())
            .map_err(|e| io_context(&self.target.given, e))?;
        keep(temp, &self.target, interrupted, is_posekit_npz).map_err(std::io::Error::other)
    }

    fn write_zip(&mut self, temp: &Path) -> std::io::Result<()> {
        let file = File::options().write(true).create_new(true).open(temp)?;
        let mut out = CountingWriter::new(BufWriter::new(file));
        let mut central = Vec::new();
        for column in &mut self.columns {
            column.spool.flush()?;
            let header = npy_header(column);
            let name = format!("{}.npy", column.name);
            // Pass 1: the CRC, which the local header needs before the data.
            let mut crc = Crc32::default();
            crc.update(&header);
            stream(&column.spool_path, |chunk| {
                crc.update(chunk);
                Ok(())
            })?;
            let size = header.len() as u64 + std::fs::metadata(&column.spool_path)?.len();
            let entry = Entry {
                name,
                crc: crc.finish(),
                size,
                offset: out.count,
            };
            out.write_all(&entry.local_header())?;
            out.write_all(&header)?;
            stream(&column.spool_path, |chunk| out.write_all(chunk))?;
            central.push(entry);
        }
        let cd_offset = out.count;
        for entry in &central {
            out.write_all(&entry.central_header())?;
        }
        let cd_size = out.count - cd_offset;
        out.write_all(&end_records(central.len() as u64, cd_size, cd_offset))?;
        out.inner.flush()
    }
}

/// True when `path` is an archive posekit wrote: its end record carries posekit's comment.
pub fn is_posekit_npz(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let tail_len = 22 + ARCHIVE_COMMENT.len();
    let mut tail = vec![0u8; tail_len];
    let read = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::End(-(tail_len as i64)))?;
        f.read_exact(&mut tail)
    });
    read.is_ok()
        && tail[..4] == 0x0605_4b50u32.to_le_bytes()
        && tail[20..22] == (ARCHIVE_COMMENT.len() as u16).to_le_bytes()
        && &tail[22..] == ARCHIVE_COMMENT
}

/// The `.npy` v1.0 header: magic, version, length, then a Python dict literal padded
/// with spaces so that the data starts on a 64-byte boundary.
fn npy_header(column: &Column) -> Vec<u8> {
    let rows = (!column.whole).then_some(column.rows as usize);
    let dims: Vec<String> = rows
        .into_iter()
        .chain(column.row_shape.iter().copied())
        .map(|d| d.to_string())
        .collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        column.dtype.descr()
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend((dict.len() as u16).to_le_bytes());
    h.extend(dict.as_bytes());
    h
}

fn stream(path: &Path, mut f: impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        f(&buf[..n])?;
    }
}

struct CountingWriter<W: Write> {
    inner: W,
    count: u64,
}

impl<W: Write> CountingWriter<W> {
    fn new(inner: W) -> Self {
        Self { inner, count: 0 }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.count += bytes.len() as u64;
        self.inner.write_all(bytes)
    }
}

/// Above this, sizes and offsets move to Zip64 extra fields.
const ZIP32_MAX: u64 = 0xFFFF_FFFF;
/// 1980-01-01, the earliest date zip can hold: the archive is not dated.
const DOS_DATE: u16 = 0x21;

struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

impl Entry {
    fn zip64(&self) -> bool {
        self.size >= ZIP32_MAX || self.offset >= ZIP32_MAX
    }

    /// The 32-bit size field: the real size, or the marker that sends readers to the
    /// Zip64 extra field.
    fn size32(&self) -> u32 {
        if self.zip64() {
            ZIP32_MAX as u32
        } else {
            self.size as u32
        }
    }

    fn local_header(&self) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(0x0403_4b50u32.to_le_bytes());
        h.extend(self.version().to_le_bytes());
        h.extend([0u8; 6]); // flags, method (stored), time
        h.extend(DOS_DATE.to_le_bytes());
        h.extend(self.crc.to_le_bytes());
        let size32 = self.size32();
        h.extend(size32.to_le_bytes());
        h.extend(size32.to_le_bytes());
        let extra = if self.zip64() { 20u16 } else { 0 };
        h.extend((self.name.len() as u16).to_le_bytes());
        h.extend(extra.to_le_bytes());
        h.extend(self.name.as_bytes());
        if self.zip64() {
            h.extend([1u8, 0, 16, 0]);
            h.extend(self.size.to_le_bytes());
            h.extend(self.size.to_le_bytes());
        }
        h
    }

    fn central_header(&self) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(0x0201_4b50u32.to_le_bytes());
        h.extend(self.version().to_le_bytes()); // made by
        h.extend(self.version().to_le_bytes()); // needed
        h.extend([0u8; 6]);
        h.extend(DOS_DATE.to_le_bytes());
        h.extend(self.crc.to_le_bytes());
        let size32 = self.size32();
        h.extend(size32.to_le_bytes());
        h.extend(size32.to_le_bytes());
        h.extend((self.name.len() as u16).to_le_bytes());
        h.extend((if self.zip64() { 28u16 } else { 0 }).to_le_bytes());
        h.extend([0u8; 10]); // comment length, disk, internal and external attributes
        let offset32 = if self.zip64() {
            ZIP32_MAX as u32
        } else {
            self.offset as u32
        };
        h.extend(offset32.to_le_bytes());
        h.extend(self.name.as_bytes());
        if self.zip64() {
            h.extend([1u8, 0, 24, 0]);
            h.extend(self.size.to_le_bytes());
            h.extend(self.size.to_le_bytes());
            h.extend(self.offset.to_le_bytes());
        }
        h
    }

    fn version(&self) -> u16 {
        if self.zip64() {
            45
        } else {
            20
        }
    }
}

/// The end-of-central-directory record, preceded by the Zip64 record and locator when
/// the directory itself lies past 4 GiB.
fn end_records(entries: u64, cd_size: u64, cd_offset: u64) -> Vec<u8> {
    let mut h = Vec::new();
    let zip64 = cd_offset >= ZIP32_MAX || cd_size >= ZIP32_MAX;
    if zip64 {
        let record_at = cd_offset + cd_size;
        h.extend(0x0606_4b50u32.to_le_bytes());
        h.extend(44u64.to_le_bytes());
        h.extend([45u8, 0, 45, 0]);
        h.extend([0u8; 8]); // this disk, directory's disk
        h.extend(entries.to_le_bytes());
        h.extend(entries.to_le_bytes());
        h.extend(cd_size.to_le_bytes());
        h.extend(cd_offset.to_le_bytes());
        h.extend(0x0706_4b50u32.to_le_bytes());
        h.extend(0u32.to_le_bytes());
        h.extend(record_at.to_le_bytes());
        h.extend(1u32.to_le_bytes());
    }
    h.extend(0x0605_4b50u32.to_le_bytes());
    h.extend([0u8; 4]);
    h.extend((entries.min(0xFFFF) as u16).to_le_bytes());
    h.extend((entries.min(0xFFFF) as u16).to_le_bytes());
    h.extend((cd_size.min(ZIP32_MAX) as u32).to_le_bytes());
    h.extend((cd_offset.min(ZIP32_MAX) as u32).to_le_bytes());
    h.extend((ARCHIVE_COMMENT.len() as u16).to_le_bytes());
    h.extend(ARCHIVE_COMMENT);
    h
}

/// CRC-32 (IEEE, reflected, polynomial 0xEDB88320), as zip requires.
struct Crc32 {
    state: u32,
    table: [u32; 256],
}

impl Default for Crc32 {
    fn default() -> Self {
        let table = std::array::from_fn(|n| {
            (0..8).fold(n as u32, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        });
        Self { state: !0, table }
    }
}

impl Crc32 {
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = self.table[((self.state ^ b as u32) & 0xFF) as usize] ^ (self.state >> 8);
        }
    }

    fn finish(&self) -> u32 {
        !self.state
    }
}

#[cfg(test)]
mod tests;
