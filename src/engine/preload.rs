//! Loading the GPU runtime's libraries ourselves, dependencies first.
//!
//! `make setup-gpu` puts the CUDA, cuDNN (and TensorRT) libraries from NVIDIA's wheels in
//! one folder beside the GPU build of ONNX Runtime. The dynamic loader reads
//! `LD_LIBRARY_PATH` only when a process starts, so when ONNX Runtime later opens
//! `libonnxruntime_providers_cuda.so`, its `NEEDED` entries (`libcublasLt.so.13`, ...) would
//! not be found there. posekit therefore opens them first (`RTLD_GLOBAL`), each after the
//! libraries it needs; the loader then finds them by soname as already loaded.
//!
//! The order is a pure function ([`preload_order`]) over facts read from the files' ELF
//! headers ([`read_dynamic`]), so it is tested with made-up `NEEDED` lists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folder beside the GPU build of `libonnxruntime.so` where `make setup-gpu` puts the
/// CUDA, cuDNN and TensorRT libraries from NVIDIA's wheels.
pub const GPU_LIBRARY_DIR: &str = "cuda";

/// What one shared library says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedLib {
    pub path: PathBuf,
    /// `DT_SONAME`, else the file name.
    pub soname: String,
    /// `DT_NEEDED`, in file order.
    pub needed: Vec<String>,
}

/// Libraries to open, in order, and what nothing in the folder provides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    pub load: Vec<PathBuf>,
    /// Sonames needed but not in the folder, each with who needs it: the system must
    /// provide them (libc, libstdc++, and the driver's libcuda.so.1), or they are missing.
    pub outside: BTreeMap<String, BTreeSet<String>>,
}

/// `roots` and the libraries they need, transitively, among `libs`, in an order in which
/// every library comes after those it needs. A dependency cycle is broken where it is met.
pub fn preload_order(libs: &[SharedLib], roots: &[&str]) -> Order {
    let by_soname: BTreeMap<&str, &SharedLib> =
        libs.iter().map(|l| (l.soname.as_str(), l)).collect();
    let mut order = Order::default();
    let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false: visiting, true: done
    fn visit<'a>(
        name: &'a str,
        by_soname: &BTreeMap<&'a str, &'a SharedLib>,
        state: &mut BTreeMap<&'a str, bool>,
        order: &mut Order,
    ) {
        if state.contains_key(name) {
            return;
        }
        state.insert(name, false);
        let lib = by_soname[name];
        for dep in &lib.needed {
            match by_soname.get(dep.as_str()) {
                Some(_) => visit(dep, by_soname, state, order),
                None => {
                    order
                        .outside
                        .entry(dep.clone())
                        .or_default()
                        .insert(lib.soname.clone());
                }
            }
        }
        state.insert(name, true);
        order.load.push(lib.path.clone());
    }
    for root in roots {
        if by_soname.contains_key(root) {
            visit(root, &by_soname, &mut state, &mut order);
        }
    }
    order
}

/// What to open before a GPU session: every library of the GPU folder, dependencies first.
/// Not only what the providers' `NEEDED` entries name: ONNX Runtime's CUDA provider opens
/// cuDNN and cuFFT itself, later (its `NEEDED` has cuBLAS, cuRAND and the CUDA runtime,
/// not cuDNN), and by then only an already-loaded library can be found. The providers are
/// left to ONNX Runtime, which opens them from its own folder.
pub fn gpu_folder_order(libs: &[SharedLib]) -> Order {
    let roots: Vec<&str> = libs
        .iter()
        .map(|l| l.soname.as_str())
        .filter(|s| !s.starts_with("libonnxruntime"))
        .collect();
    preload_order(libs, &roots)
}

/// Sonames the base system provides on any glibc Linux: not worth reporting as outside.
pub fn is_base_system(soname: &str) -> bool {
    const BASE: [&str; 9] = [
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libpthread.so.0",
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "ld-linux-x86-64.so.2",
        "libz.so.1",
    ];
    BASE.contains(&soname)
}

/// The `.so` files of `dir` (also versioned ones, `libcudart.so.13`) with their ELF facts;
/// files that are not 64-bit little-endian ELF are left out.
pub fn scan(dir: &Path) -> Vec<SharedLib> {
    let mut found: Vec<SharedLib> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".so"))
        })
        .filter_map(|path| {
            let mut file = std::fs::File::open(&path).ok()?;
            let (soname, needed) = read_dynamic(&mut file)?;
            let soname = soname.unwrap_or_else(|| {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            Some(SharedLib {
                path,
                soname,
                needed,
            })
        })
        .collect();
    // One entry per soname (a folder often has libx.so.13 and libx.so.13.0.1): keep the
    // shortest path, which is the link the loader would look for.
    found.sort_by_key(|l| (l.soname.clone(), l.path.as_os_str().len()));
    found.dedup_by(|a, b| a.soname == b.soname);
    found
}

/// Opens `order.load` in order, globally; stops at the first failure, naming the file.
pub fn preload(order: &Order) -> Result<usize, String> {
    for path in &order.load {
        // SAFETY: these are the GPU runtime's own libraries, opened as ONNX Runtime would
        // open them; their initialisers are the vendor's. The handle is leaked on purpose,
        // so the library stays loaded for the process's life.
        let lib = unsafe {
            libloading::os::unix::Library::open(
                Some(path),
                libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL,
            )
        }
        .map_err(|e| {
            // libloading keeps the loader's own words (which library is missing) as the source.
            let why = std::error::Error::source(&e).map_or(e.to_string(), |s| s.to_string());
            format!("cannot open {}: {why}", path.display())
        })?;
        std::mem::forget(lib);
    }
    Ok(order.load.len())
}

/// Reads `len` bytes at `offset`: a file is read piecewise, so that scanning a folder of
/// 500 MB CUDA libraries reads a few kilobytes of each.
pub trait ReadAt {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>>;
}

impl ReadAt for &[u8] {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(offset).ok()?;
        self.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; len];
        FileExt::read_exact_at(self, &mut buf, offset).ok()?;
        Some(buf)
    }
}

/// `DT_SONAME` and `DT_NEEDED` of a 64-bit little-endian ELF file; `None` when it is not
/// one or is truncated.
pub fn read_dynamic(file: &mut impl ReadAt) -> Option<(Option<String>, Vec<String>)> {
    let header = file.read_at(0, 64)?;
    if header.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let (phoff, phentsize, phnum) = (
        le64(&header, 0x20)?,
        le16(&header, 0x36)? as usize,
        le16(&header, 0x38)? as usize,
    );
    let table = file.read_at(phoff, phentsize.checked_mul(phnum)?)?;
    // Program headers: PT_LOAD maps addresses to file offsets, PT_DYNAMIC holds the tags.
    let mut loads = Vec::new();
    let mut dynamic = None;
    for h in (0..phnum).map(|i| i * phentsize) {
        let (kind, offset, vaddr, filesz) = (
            le32(&table, h)?,
            le64(&table, h + 8)?,
            le64(&table, h + 16)?,
            le64(&table, h + 32)?,
        );
        match kind {
            1 => loads.push((vaddr, offset, filesz)),
            2 => dynamic = Some((offset, filesz)),
            _ => {}
        }
    }
    let (dyn_off, dyn_size) = dynamic?;
    let tags = file.read_at(dyn_off, usize::try_from(dyn_size).ok()?)?;
    let (mut strtab, mut strsz, mut soname, mut needed) = (None, None, None, Vec::new());
    for entry in (0..tags.len() / 16).map(|i| i * 16) {
        match (le64(&tags, entry)?, le64(&tags, entry + 8)?) {
            (0, _) => break,
            (1, v) => needed.push(v),
            (5, v) => strtab = Some(v),
            (10, v) => strsz = Some(v),
            (14, v) => soname = Some(v),
            _ => {}
        }
    }
    let (strtab, strsz) = (strtab?, strsz?);
    let offset = loads
        .iter()
        .find(|(vaddr, _, size)| (*vaddr..vaddr + size).contains(&strtab))
        .map(|(vaddr, offset, _)| strtab - vaddr + offset)?;
    let strings = file.read_at(offset, usize::try_from(strsz).ok()?)?;
    let string = |at: u64| -> Option<String> {
        let rest = strings.get(usize::try_from(at).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let needed = needed.into_iter().map(string).collect::<Option<Vec<_>>>()?;
    Some((soname.and_then(string), needed))
}

fn le16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(soname: &str, needed: &[&str]) -> SharedLib {
        SharedLib {
            path: PathBuf::from(format!("/gpu/{soname}")),
            soname: soname.into(),
            needed: needed.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The shape of the CUDA provider's tree as the wheels ship it (made-up but typical).
    fn cuda_tree() -> Vec<SharedLib> {
        vec![
            lib(
                "libonnxruntime_providers_cuda.so",
                &[
                    "libcublasLt.so.13",
                    "libcublas.so.13",
                    "libcudnn.so.9",
                    "libcudart.so.13",
                    "libonnxruntime_providers_shared.so",
                    "libcufft.so.12",
                    "libstdc++.so.6",
                    "libc.so.6",
                ],
            ),
            lib("libcublas.so.13", &["libcublasLt.so.13", "libc.so.6"]),
            lib("libcublasLt.so.13", &["libc.so.6"]),
            lib("libcudnn.so.9", &["libc.so.6"]),
            lib("libcudart.so.13", &["libc.so.6"]),
            lib("libcufft.so.12", &["libc.so.6"]),
            lib("libonnxruntime_providers_shared.so", &["libc.so.6"]),
            lib("libunrelated.so.1", &[]),
        ]
    }

    fn position(order: &Order, soname: &str) -> usize {
        order
            .load
            .iter()
            .position(|p| p.ends_with(soname))
            .unwrap_or_else(|| panic!("{soname} not in {:?}", order.load))
    }

    #[test]
    fn dependencies_come_first_and_strangers_are_left_out() {
        let order = preload_order(&cuda_tree(), &["libonnxruntime_providers_cuda.so"]);
        assert!(position(&order, "libcublasLt.so.13") < position(&order, "libcublas.so.13"));
        assert!(
            position(&order, "libcublas.so.13")
                < position(&order, "libonnxruntime_providers_cuda.so")
        );
        assert_eq!(order.load.len(), 7, "{:?}", order.load);
        assert!(!order.load.iter().any(|p| p.ends_with("libunrelated.so.1")));
    }

    #[test]
    fn the_gpu_folder_is_loaded_whole_but_not_the_providers() {
        let order = gpu_folder_order(&cuda_tree());
        // cuDNN is opened by the provider at run time, not named in its NEEDED: loaded too.
        assert!(order.load.iter().any(|p| p.ends_with("libcudnn.so.9")));
        assert!(order.load.iter().any(|p| p.ends_with("libunrelated.so.1")));
        assert!(!order
            .load
            .iter()
            .any(|p| p.to_string_lossy().contains("libonnxruntime")));
        assert!(position(&order, "libcublasLt.so.13") < position(&order, "libcublas.so.13"));
    }

    #[test]
    fn what_the_folder_lacks_is_listed_with_who_needs_it() {
        let mut tree = cuda_tree();
        tree.retain(|l| l.soname != "libcudnn.so.9");
        let order = preload_order(&tree, &["libonnxruntime_providers_cuda.so"]);
        let missing: Vec<&String> = order
            .outside
            .keys()
            .filter(|s| !is_base_system(s))
            .collect();
        assert_eq!(missing, ["libcudnn.so.9"]);
        assert!(order.outside["libcudnn.so.9"].contains("libonnxruntime_providers_cuda.so"));
    }

    #[test]
    fn a_cycle_does_not_loop() {
        let tree = vec![
            lib("a.so", &["b.so"]),
            lib("b.so", &["a.so"]),
            lib("root.so", &["a.so"]),
        ];
        let order = preload_order(&tree, &["root.so"]);
        assert_eq!(order.load.len(), 3, "each once, the root last");
        assert!(order.load[2].ends_with("root.so"));
    }

    #[test]
    fn reads_the_needed_list_of_a_real_library() {
        // The CPU runtime `make setup` installs: it needs only libc, libstdc++ and libm.
        let Some(dir) = crate::engine::data_dir() else {
            println!("skipped: no home folder");
            return;
        };
        let path = dir.join("onnxruntime/libonnxruntime.so");
        let Ok(mut file) = std::fs::File::open(&path) else {
            println!("skipped: {} not installed (make setup)", path.display());
            return;
        };
        let (soname, needed) = read_dynamic(&mut file).expect("an ELF shared library");
        assert!(soname.unwrap().starts_with("libonnxruntime.so"));
        assert!(needed.iter().any(|n| n == "libc.so.6"), "{needed:?}");
        assert!(needed.iter().all(|n| is_base_system(n)), "{needed:?}");
    }

    #[test]
    fn not_elf_is_none() {
        assert_eq!(read_dynamic(&mut &b"#!/bin/sh\n"[..]), None);
        assert_eq!(read_dynamic(&mut &b"\x7fELF\x02\x01"[..]), None);
    }
}
