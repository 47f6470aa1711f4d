//! `posekit tune`: read the machine, decide the plan (pure), show it with the diff of each
//! file, and with `--write` write those files through `files::write_file`, the one writer.
//!
//! Every file's new text is computed, and every refusal found, before anything is
//! written, so a `.wslconfig` that cannot be read for certain leaves posekit.toml alone too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::stdout::{print, print_line};
use crate::cli::TuneArgs;
use crate::config::{config_path, saved_layout, DEFAULT_SERVE_PORT};
use crate::files::{resolve_for_writing, write_file, Written};
use crate::system::wsl::{decode_console, Kind};
use crate::system::{
    gather, resources, wslconfig, GatherOptions, Probe, SystemFacts, WslConfigFile,
};
use crate::tune::changes::{config_change, wslconfig_change, Change, Target};
use crate::tune::machine::{machine_key, MachineFacts};
use crate::tune::report::{self, Current, FileReport};
use crate::tune::{plan, ModelCost, PlanOptions, UserModel};

/// `.wslconfig` as read: its text for planning, and why it cannot be edited, if so.
struct WslFile {
    path: PathBuf,
    text: Option<String>,
    refusal: Option<String>,
}

pub fn run(args: &TuneArgs) -> Result<ExitCode> {
    let config_path = match &args.config {
        Some(path) => path.clone(),
        None => config_path()
            .context("there is no home folder to keep posekit.toml in: pass --config PATH")?,
    };
    // Before anything is read or measured: a device, a FIFO or a folder is never a
    // config file, and reading a FIFO would hang.
    resolve_for_writing(&config_path)?;
    let mut facts = gather(&GatherOptions {
        ort_lib: None,
        host: None,
        port: None,
        output_dir: std::env::current_dir().context("reading the working directory")?,
        config_path: Some(config_path.clone()),
        timeout: Duration::from_secs_f64(args.timeout),
    });
    let mut cpu_model = None;
    if let Some(file) = &args.facts {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let machine: MachineFacts = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a machine description", file.display()))?;
        machine
            .apply(&mut facts)
            .with_context(|| file.display().to_string())?;
        cpu_model = machine.cpu_model;
    }
    let cpu_model = cpu_model.or_else(resources::cpu_model).unwrap_or_default();
    if let Err(reason) = &facts.config.loaded {
        bail!("{reason}. tune edits this file, so fix it first (or pass --config PATH)");
    }
    let settings = facts.config.settings();
    let (kind, _) = facts.platform.kind();
    if kind != Kind::Wsl2 && args.wslconfig.is_some() {
        eprintln!(
            "posekit: --wslconfig ignored: .wslconfig applies to WSL2 only, and this is not WSL2"
        );
    }
    let wsl = if kind == Kind::Wsl2 {
        let path = args
            .wslconfig
            .clone()
            .or_else(|| facts.wslconfig.found().map(|w| w.path.clone()));
        match path {
            Some(path) => {
                let file = read_wslconfig(path)?;
                facts.wslconfig = Probe::Found(WslConfigFile {
                    path: file.path.clone(),
                    config: file.text.as_deref().map(wslconfig::parse),
                });
                Some(file)
            }
            None => None,
        }
    } else {
        None
    };

    let cost = ModelCost::with_models(&user_models(&facts));
    let key = machine_key(&cpu_model, facts.cpu.logical, facts.memory.total);
    let saved = saved_layout(&settings, &key, &cost.key);
    let options = PlanOptions {
        expose_service: args.expose_service,
        host_memory: args.host_memory,
        machine_key: key,
        service_port: settings.serve_port.unwrap_or(DEFAULT_SERVE_PORT),
    };
    let plan = plan(&facts, &cost, saved, &options);

    let before = read_optional(&config_path)?;
    let mut changes = vec![config_change(&plan, &config_path, before)?];
    let mut refusal = None;
    if let Some(file) = &wsl {
        match &file.refusal {
            Some(reason) => refusal = Some(reason.clone()),
            None => match wslconfig_change(&plan, &file.path, file.text.clone()) {
                Ok(change) => changes.extend(change),
                Err(e) => refusal = Some(format!("{}: {e}", file.path.display())),
            },
        }
    }

    let mut reports: Vec<FileReport> = changes.iter().map(file_report).collect();
    if let (Some(file), Some(reason)) = (&wsl, &refusal) {
        reports.push(FileReport {
            file: Target::Wslconfig,
            path: Some(file.path.clone()),
            exists: file.text.is_some(),
            changes: false,
            refused: Some(reason.clone()),
            written: None,
            backup: None,
        });
    }
    if args.write && refusal.is_none() {
        for change in &changes {
            resolve_for_writing(&change.path)?;
        }
        for (change, report) in changes.iter().zip(reports.iter_mut()) {
            let written = write_file(&change.path, change.after.as_bytes())?;
            report.written = Some(match &written {
                Written::Unchanged => "unchanged",
                Written::Created => "created",
                Written::Replaced { backup } => {
                    report.backup = Some(backup.clone());
                    "replaced"
                }
            });
        }
    }
    if args.json {
        print_line(&report::json(&plan, &reports))?;
    } else {
        let current = Current {
            workers: settings.workers,
            threads_per_worker: settings.threads_per_worker,
        };
        let mut text = report::heading(&plan, facts.platform.distro.as_deref());
        text.push('\n');
        text.push_str(&report::table(&plan, current));
        if args.write {
            text.push_str(&written_lines(&changes, &reports));
        } else {
            for change in &changes {
                text.push('\n');
                text.push_str(&report::change(change));
            }
            if refusal.is_none() {
                text.push_str(match changes.iter().any(Change::changes_anything) {
                    true => "\nRun `posekit tune --write` to make these changes (each file's previous version is kept as a timestamped backup).\n",
                    false => "\nNothing to change.\n",
                });
            }
        }
        print(&text)?;
    }
    if let Some(reason) = refusal {
        bail!("{reason}");
    }
    Ok(ExitCode::SUCCESS)
}

fn file_report(change: &Change) -> FileReport {
    FileReport {
        file: change.target,
        path: Some(change.path.clone()),
        exists: change.before.is_some(),
        changes: change.changes_anything(),
        refused: None,
        written: None,
        backup: None,
    }
}

/// What `--write` did, and what to do next.
fn written_lines(changes: &[Change], reports: &[FileReport]) -> String {
    let mut text = String::from("\n");
    let mut wslconfig_written = false;
    for (change, report) in changes.iter().zip(reports) {
        let path = change.path.display();
        text.push_str(&match (report.written, &report.backup) {
            (Some("created"), _) => format!("created {path}\n"),
            (Some("replaced"), Some(backup)) => format!(
                "updated {path} (previous version kept as {})\n",
                backup.display()
            ),
            _ => format!("{path} already says this: unchanged\n"),
        });
        wslconfig_written |=
            change.target == Target::Wslconfig && report.written != Some("unchanged");
    }
    if wslconfig_written {
        text.push_str(
            "\nNext: WSL reads .wslconfig only when it starts. From PowerShell or cmd on Windows run\n\n    wsl --shutdown\n\nthen open your Linux distribution again (this closes every WSL window and stops its programs).\n",
        );
    }
    text
}

/// Reads `.wslconfig`; a missing file is `None` (tune creates it from the template).
/// Notepad may save UTF-16: WSL reads it and so does the plan, but tune edits UTF-8 only.
fn read_wslconfig(path: PathBuf) -> Result<WslFile> {
    resolve_for_writing(&path)?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(WslFile {
                path,
                text: None,
                refusal: None,
            })
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(match String::from_utf8(bytes) {
        Ok(text) => WslFile {
            path,
            text: Some(text),
            refusal: None,
        },
        Err(e) => {
            let refusal = Some(format!(
                "{}: not UTF-8 (saved as UTF-16 by Notepad?); tune edits UTF-8 files only and changed nothing. Save it as UTF-8 and run tune again",
                path.display()
            ));
            WslFile {
                text: Some(decode_console(e.as_bytes())),
                path,
                refusal,
            }
        }
    })
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The configured models with the size of their weights: the ONNX file plus the external
/// data it names (`system::onnx_size`), as gathered.
fn user_models(facts: &SystemFacts) -> Vec<UserModel> {
    facts
        .models
        .configured
        .iter()
        .map(|m| UserModel {
            name: m.name.clone(),
            weights_bytes: m.bytes.clone(),
        })
        .collect()
}
