//! `posekit export`: reads a result and writes it in another tool's format.

use std::path::Path;

use anyhow::Result;

use super::stdout::print_line;
use crate::cli::{ExportArgs, ExportFormatArg};
use crate::export::{self, result, Format, Written};

pub fn run(args: &ExportArgs) -> Result<()> {
    let format = format_of(args.to);
    let dest = args
        .output
        .clone()
        .unwrap_or_else(|| format.default_dest(&args.result));
    let written = export_one(
        &args.result,
        format,
        &dest,
        args.overwrite,
        args.partial,
        args.smpl_model.as_deref(),
    )?;
    report(&written, args.json)
}

pub fn format_of(arg: ExportFormatArg) -> Format {
    match arg {
        ExportFormatArg::Csv => Format::Csv,
        ExportFormatArg::Openpose => Format::Openpose,
        ExportFormatArg::Trc => Format::Trc,
        ExportFormatArg::Amass => Format::Amass,
        ExportFormatArg::Bvh => Format::Bvh,
    }
}

/// Reads `source` and writes it as `format` at `dest`.
pub fn export_one(
    source: &Path,
    format: Format,
    dest: &Path,
    overwrite: bool,
    partial: bool,
    smpl_model: Option<&Path>,
) -> Result<Written> {
    let parsed = result::read(source, partial)?;
    if !parsed.complete {
        eprintln!(
            "posekit: warning: {} is a partial result; the export has only the {} frames it holds",
            source.display(),
            parsed.frames.len()
        );
    }
    Ok(export::write(
        &parsed, source, format, dest, overwrite, smpl_model,
    )?)
}

/// `process --export`: each format of a complete result, beside it. An existing export
/// is kept (with a note) unless `overwrite`, as a complete result is kept on a rerun.
pub fn after_process(
    result: &Path,
    formats: &[ExportFormatArg],
    overwrite: bool,
    json: bool,
) -> Result<()> {
    for &arg in formats {
        let format = format_of(arg);
        let dest = format.default_dest(result);
        if dest.exists() && !overwrite {
            eprintln!(
                "posekit: kept the existing {} export {} (--overwrite replaces it)",
                format.name(),
                dest.display()
            );
            continue;
        }
        let written = export_one(result, format, &dest, overwrite, false, None)?;
        match json {
            // stdout stays one object per video; the exports are told on stderr.
            true => eprintln!("posekit: exported {}", serde_json::to_string(&written)?),
            false => report(&written, false)?,
        }
    }
    Ok(())
}

/// One line for people, or one JSON object for scripts.
pub fn report(written: &Written, json: bool) -> Result<()> {
    match json {
        true => print_line(&serde_json::to_string(written)?)?,
        false => print_line(&format!(
            "{}: {} ({} file{}, {} bytes)",
            written.format.name(),
            written.path.display(),
            written.files,
            if written.files == 1 { "" } else { "s" },
            written.bytes
        ))?,
    }
    Ok(())
}
