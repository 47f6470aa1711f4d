//! From what the user named (videos, folders, a manifest) to the sorted list of inputs
//! of a batch, each with the relative path it keeps under `--out-dir`.
//!
//! A folder is walked for videos (its top level, or all of it with `--recursive`). A
//! folder that holds no videos but still images is one input: an image sequence. The list
//! is sorted by each input's real path and de-duplicated, so every shard of a cluster job
//! sees the same list in the same order. A listed file that is missing stays in the list:
//! it fails when its turn comes and the rest of the batch goes on.

use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use super::manifest::{self, ManifestError};
use crate::files::default_output;

/// What FFmpeg is asked to open when a folder is walked (change it with `--ext`).
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "wmv", "flv", "ts", "mts", "m2ts",
    "3gp", "ogv",
];

/// The still images an image-sequence folder may hold.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Video,
    /// A folder of JPEG/PNG frames, read in name order.
    ImageFolder,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The path to open.
    pub path: PathBuf,
    pub kind: InputKind,
    /// The real path (links resolved) when it exists, else the absolute path: what the
    /// list is sorted and de-duplicated by.
    pub key: PathBuf,
    /// The relative path mirrored under `--out-dir`.
    pub mirror: PathBuf,
    /// The result's path, when the manifest gave one (already resolved).
    pub output: Option<PathBuf>,
    /// Where it was named, for messages: `videos.txt:3`, `clips/` or `the command line`.
    pub origin: String,
}

impl Input {
    /// Where its result goes: the manifest's `output`, else its mirror under `out_dir`,
    /// else beside it (`clip.poses.jsonl`; an image folder's beside the folder).
    pub fn result_path(&self, out_dir: Option<&Path>) -> PathBuf {
        if let Some(output) = &self.output {
            return output.clone();
        }
        match (out_dir, self.kind) {
            (Some(dir), _) => default_output(&dir.join(&self.mirror)),
            (None, InputKind::Video) => default_output(&self.path),
            // The real path, so that `frames/.` or `frames/` still names the folder.
            (None, InputKind::ImageFolder) => default_output(&self.key),
        }
    }
}

/// What was asked for.
#[derive(Clone, Debug, Default)]
pub struct InputSpec {
    pub paths: Vec<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub recursive: bool,
    /// Lower-case extensions, no dots; empty means [`VIDEO_EXTENSIONS`].
    pub extensions: Vec<String>,
    /// Relative `output` columns are read from here (`--out-dir`), else from the
    /// manifest's folder.
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{0}: a folder with no videos ({1}) and no images (jpg, jpeg, png){2}.\nFix: check the folder, add --recursive to look in its subfolders, or choose the extensions with --ext")]
    EmptyFolder(PathBuf, String, &'static str),
    #[error("{path}: cannot read the folder: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("no inputs: name videos or folders, or give --manifest FILE")]
    Nothing,
}

/// The batch's inputs, sorted and without duplicates; `duplicates` counts the ones
/// dropped.
#[derive(Debug, Default)]
pub struct InputList {
    pub inputs: Vec<Input>,
    pub duplicates: usize,
}

pub fn gather(spec: &InputSpec) -> Result<InputList, InputError> {
    let mut inputs = Vec::new();
    if let Some(file) = &spec.manifest {
        let folder = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let shown = file.display().to_string();
        for entry in manifest::read(file)? {
            let origin = format!("{shown}:{}", entry.line);
            let path = folder.join(&entry.path);
            let output = entry.output.map(|o| match &spec.out_dir {
                Some(out) => out.join(o),
                None => folder.join(o),
            });
            add_named(&mut inputs, spec, &path, &entry.path, output, origin)?;
        }
    }
    for path in &spec.paths {
        add_named(
            &mut inputs,
            spec,
            path,
            path,
            None,
            "the command line".into(),
        )?;
    }
    if inputs.is_empty() {
        return Err(InputError::Nothing);
    }
    Ok(sort_and_dedup(inputs))
}

/// One named path: a file is an input; a folder is walked, or is an image sequence.
fn add_named(
    inputs: &mut Vec<Input>,
    spec: &InputSpec,
    path: &Path,
    as_written: &Path,
    output: Option<PathBuf>,
    origin: String,
) -> Result<(), InputError> {
    if !path.is_dir() {
        inputs.push(input(
            path,
            InputKind::Video,
            mirror_of(as_written),
            output,
            origin,
        ));
        return Ok(());
    }
    let videos = walk(path, spec.recursive, &extensions(spec))?;
    if !videos.is_empty() {
        let origin = format!("{}/", path.display());
        for video in videos {
            let relative = video.strip_prefix(path).unwrap_or(&video).to_path_buf();
            inputs.push(input(
                &video,
                InputKind::Video,
                relative,
                None,
                origin.clone(),
            ));
        }
        return Ok(());
    }
    if !image_frames(path)?.is_empty() {
        inputs.push(input(
            path,
            InputKind::ImageFolder,
            mirror_of(as_written),
            output,
            origin,
        ));
        return Ok(());
    }
    let hint = if spec.recursive {
        ""
    } else {
        " at its top level"
    };
    Err(InputError::EmptyFolder(
        path.to_path_buf(),
        extensions(spec).join(", "),
        hint,
    ))
}

fn input(
    path: &Path,
    kind: InputKind,
    mirror: PathBuf,
    output: Option<PathBuf>,
    origin: String,
) -> Input {
    Input {
        path: path.to_path_buf(),
        kind,
        key: real_or_absolute(path),
        mirror,
        output,
        origin,
    }
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|e| e.to_string()).collect()
}

fn extensions(spec: &InputSpec) -> Vec<String> {
    if spec.extensions.is_empty() {
        owned(VIDEO_EXTENSIONS)
    } else {
        spec.extensions.clone()
    }
}

/// Files in `folder` (and below, when `recursive`) with one of `extensions`, in name
/// order. Hidden files (posekit's own temporaries among them) are skipped; links to files
/// count, links to folders are not followed.
pub fn walk(
    folder: &Path,
    recursive: bool,
    extensions: &[String],
) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    let walker = WalkDir::new(folder)
        .min_depth(1)
        .max_depth(if recursive { usize::MAX } else { 1 })
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| InputError::Unreadable {
            path: e.path().unwrap_or(folder).to_path_buf(),
            reason: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy();
        if name.starts_with('.') || !entry.path().is_file() {
            continue;
        }
        if has_extension(entry.path(), extensions) {
            found.push(entry.into_path());
        }
    }
    Ok(found)
}

/// An image folder's frames, in play (name) order.
pub fn image_frames(folder: &Path) -> Result<Vec<PathBuf>, InputError> {
    walk(folder, false, &owned(IMAGE_EXTENSIONS))
}

pub fn has_extension(path: &Path, extensions: &[String]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|want| want.eq_ignore_ascii_case(e)))
}

/// The relative path an input keeps under `--out-dir`: a relative path as written
/// (lexically cleaned), an absolute one below the root (`/data/a.mp4` → `data/a.mp4`), so
/// two inputs never share a mirror unless they are one file.
pub fn mirror_of(as_written: &Path) -> PathBuf {
    let escapes = as_written
        .components()
        .any(|c| matches!(c, Component::ParentDir));
    let source = if escapes {
        real_or_absolute(as_written)
    } else {
        as_written.to_path_buf()
    };
    source
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect()
}

fn real_or_absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn sort_and_dedup(mut inputs: Vec<Input>) -> InputList {
    // Stable: among duplicates the first named (with its output) is kept.
    inputs.sort_by(|a, b| a.key.cmp(&b.key));
    let before = inputs.len();
    inputs.dedup_by(|later, earlier| later.key == earlier.key);
    InputList {
        duplicates: before - inputs.len(),
        inputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }

    fn names(list: &InputList) -> Vec<String> {
        list.inputs
            .iter()
            .map(|i| i.mirror.display().to_string())
            .collect()
    }

    #[test]
    fn folders_are_walked_sorted_with_hidden_and_other_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("videos");
        for name in [
            "b.mp4",
            "a.MOV",
            "notes.txt",
            ".a.poses.tmp-1-1.mp4",
            "sub/c.webm",
        ] {
            touch(&root.join(name));
        }
        let spec = InputSpec {
            paths: vec![root.clone()],
            ..InputSpec::default()
        };
        assert_eq!(names(&gather(&spec).unwrap()), ["a.MOV", "b.mp4"]);
        let deep = InputSpec {
            recursive: true,
            ..spec.clone()
        };
        assert_eq!(
            names(&gather(&deep).unwrap()),
            ["a.MOV", "b.mp4", "sub/c.webm"]
        );
        let only = InputSpec {
            extensions: vec!["webm".into()],
            ..deep
        };
        assert_eq!(names(&gather(&only).unwrap()), ["sub/c.webm"]);
    }

    #[test]
    fn a_folder_of_images_is_one_input_and_an_empty_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames");
        touch(&frames.join("000001.jpg"));
        touch(&frames.join("000002.png"));
        let spec = InputSpec {
            paths: vec![frames.clone()],
            ..InputSpec::default()
        };
        let list = gather(&spec).unwrap();
        assert_eq!(list.inputs.len(), 1);
        assert_eq!(list.inputs[0].kind, InputKind::ImageFolder);

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let err = gather(&InputSpec {
            paths: vec![empty],
            ..InputSpec::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("no videos"), "{err}");
    }

    #[test]
    fn manifest_paths_are_read_from_its_folder_and_duplicates_dropped() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("data/a.mp4"));
        let manifest = dir.path().join("data/list.txt");
        let absolute = dir.path().join("data/a.mp4");
        std::fs::write(
            &manifest,
            format!("a.mp4\n./a.mp4\n{}\nmissing.mp4\n", absolute.display()),
        )
        .unwrap();
        let list = gather(&InputSpec {
            manifest: Some(manifest),
            ..InputSpec::default()
        })
        .unwrap();
        assert_eq!(list.duplicates, 2);
        assert_eq!(names(&list), ["a.mp4", "missing.mp4"]);
        assert_eq!(
            list.inputs[0].origin,
            format!("{}:1", dir.path().join("data/list.txt").display())
        );
    }

    #[test]
    fn manifest_outputs_go_under_out_dir_when_given() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("list.csv");
        std::fs::write(&manifest, "path,output\na.mp4,r/a.jsonl\n").unwrap();
        let out = dir.path().join("out");
        let list = gather(&InputSpec {
            manifest: Some(manifest),
            out_dir: Some(out.clone()),
            ..InputSpec::default()
        })
        .unwrap();
        assert_eq!(list.inputs[0].output, Some(out.join("r/a.jsonl")));
    }

    #[test]
    fn results_go_beside_under_out_dir_or_where_the_manifest_says() {
        let video = input(
            Path::new("day1/a.mp4"),
            InputKind::Video,
            "day1/a.mp4".into(),
            None,
            String::new(),
        );
        assert_eq!(video.result_path(None), PathBuf::from("day1/a.poses.jsonl"));
        assert_eq!(
            video.result_path(Some(Path::new("/out"))),
            PathBuf::from("/out/day1/a.poses.jsonl")
        );
        let named = Input {
            output: Some("/r/x.jsonl".into()),
            ..video
        };
        assert_eq!(
            named.result_path(Some(Path::new("/out"))),
            PathBuf::from("/r/x.jsonl")
        );
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames");
        std::fs::create_dir(&frames).unwrap();
        let folder = input(
            &frames.join("."),
            InputKind::ImageFolder,
            "frames".into(),
            None,
            String::new(),
        );
        assert_eq!(
            folder.result_path(None),
            dir.path()
                .canonicalize()
                .unwrap()
                .join("frames.poses.jsonl")
        );
    }

    #[test]
    fn mirrors_keep_relative_paths_and_drop_the_root() {
        assert_eq!(
            mirror_of(Path::new("./day1/a.mp4")),
            PathBuf::from("day1/a.mp4")
        );
        assert_eq!(
            mirror_of(Path::new("/data/x/a.mp4")),
            PathBuf::from("data/x/a.mp4")
        );
        let escaped = mirror_of(Path::new("../a.mp4"));
        assert!(
            escaped.is_relative() && !escaped.starts_with(".."),
            "{escaped:?}"
        );
    }
}
