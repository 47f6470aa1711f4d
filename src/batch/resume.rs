//! Resume: whether an input's existing result is already the result this run would write.
//!
//! A result is complete when its last line is a summary of a run that was not
//! interrupted, and it is this run's result when its header records the same input
//! (fingerprint), the same models (sha256) and the same result-shaping settings. Settings
//! that change only speed are not compared: threads per worker, how HMR2's weights are
//! shared, the device asked for and the HMR2 batch, and in image mode the worker count (each frame is independent there; in video
//! mode workers hand tracks over, so their number shapes the result). Anything else is
//! redone, with the reason said.

use serde_json::Value;

use crate::output::jsonl::Ends;

/// Settings keys that do not change a result, in every mode. `hmr2_device` is what was
/// asked (`auto`); where HMR2 ran is each model's `device`, compared with the models.
/// `hmr2_batch` changes only float rounding.
const SPEED_ONLY: &[&str] = &[
    "threads_per_worker",
    "hmr2_weights",
    "hmr2_device",
    "hmr2_batch",
];

/// What this run would write in the header.
#[derive(Clone, Debug)]
pub struct Expected {
    pub input: Value,
    pub models: Value,
    pub settings: Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No result yet.
    Run,
    /// Complete and made from the same input, models and settings.
    Skip,
    /// There is a result, but not this one; the reason says why.
    Redo(String),
}

pub fn decide(previous: Option<&Ends>, expected: &Expected) -> Decision {
    let Some(previous) = previous else {
        return Decision::Run;
    };
    if !previous.finished() {
        return Decision::Redo("the result has no summary of a finished run".into());
    }
    let header = &previous.header;
    if header.get("input").is_none() {
        return Decision::Redo(
            "the result records no input fingerprint (an older posekit wrote it)".into(),
        );
    }
    if header["input"] != expected.input {
        return Decision::Redo("the input changed since (its size, time or content)".into());
    }
    if header["models"] != expected.models {
        return Decision::Redo("other models made it".into());
    }
    let changed = changed_settings(&header["settings"], &expected.settings);
    if !changed.is_empty() {
        return Decision::Redo(format!("other settings made it ({})", changed.join(", ")));
    }
    Decision::Skip
}

/// `key: was → now` for each result-shaping setting that differs.
fn changed_settings(was: &Value, now: &Value) -> Vec<String> {
    let image_mode = now["mode"] == "image";
    let ignored = |key: &str| SPEED_ONLY.contains(&key) || (image_mode && key == "workers");
    let mut keys: Vec<&String> = [was, now]
        .iter()
        .filter_map(|v| v.as_object())
        .flat_map(|o| o.keys())
        .filter(|k| !ignored(k))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| was.get(k.as_str()) != now.get(k.as_str()))
        .map(|k| {
            format!(
                "{k}: {} → {}",
                shown(was.get(k.as_str())),
                shown(now.get(k.as_str()))
            )
        })
        .collect()
}

fn shown(value: Option<&Value>) -> String {
    value.map_or("unset".into(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected() -> Expected {
        Expected {
            input: json!({"size": 10, "mtime_ns": 5, "sample_sha256": "ab"}),
            models: json!([{"name": "d", "sha256": "1"}]),
            settings: json!({"mode": "video", "workers": 2, "threads_per_worker": 1, "max_people": 4}),
        }
    }

    fn result(input: Value, settings: Value, interrupted: bool) -> Ends {
        Ends {
            header: json!({"type": "header", "input": input, "models": expected().models, "settings": settings}),
            last: Some(json!({"type": "summary", "interrupted": interrupted})),
        }
    }

    #[test]
    fn nothing_there_runs_and_the_same_result_is_skipped() {
        let e = expected();
        assert_eq!(decide(None, &e), Decision::Run);
        let same = result(e.input.clone(), e.settings.clone(), false);
        assert_eq!(decide(Some(&same), &e), Decision::Skip);
    }

    #[test]
    fn speed_only_settings_do_not_matter_but_result_settings_do() {
        let e = expected();
        let faster =
            json!({"mode": "video", "workers": 2, "threads_per_worker": 4, "max_people": 4});
        assert_eq!(
            decide(Some(&result(e.input.clone(), faster, false)), &e),
            Decision::Skip
        );
        // The device asked for and the HMR2 batch: where HMR2 ran is compared with the models.
        let other_device = json!({"mode": "video", "workers": 2, "threads_per_worker": 1, "max_people": 4, "hmr2_device": "cuda", "hmr2_batch": 8});
        assert_eq!(
            decide(Some(&result(e.input.clone(), other_device, false)), &e),
            Decision::Skip
        );
        let more_workers =
            json!({"mode": "video", "workers": 1, "threads_per_worker": 1, "max_people": 4});
        assert_eq!(
            decide(Some(&result(e.input.clone(), more_workers, false)), &e),
            Decision::Redo("other settings made it (workers: 1 → 2)".into())
        );
        let capped = json!({"mode": "video", "workers": 2, "threads_per_worker": 1, "max_people": 4, "max_frames": 10});
        let Decision::Redo(why) = decide(Some(&result(e.input.clone(), capped, false)), &e) else {
            panic!("a capped run is not complete");
        };
        assert!(why.contains("max_frames: 10 → unset"), "{why}");
    }

    #[test]
    fn image_mode_ignores_the_worker_count() {
        let mut e = expected();
        e.settings = json!({"mode": "image", "workers": 2, "threads_per_worker": 1});
        let one = json!({"mode": "image", "workers": 1, "threads_per_worker": 1});
        assert_eq!(
            decide(Some(&result(e.input.clone(), one, false)), &e),
            Decision::Skip
        );
    }

    #[test]
    fn a_changed_input_other_models_or_an_unfinished_run_is_redone() {
        let e = expected();
        let changed = result(
            json!({"size": 11, "mtime_ns": 5, "sample_sha256": "ab"}),
            e.settings.clone(),
            false,
        );
        assert!(
            matches!(decide(Some(&changed), &e), Decision::Redo(w) if w.contains("input changed"))
        );
        let mut other = result(e.input.clone(), e.settings.clone(), false);
        other.header["models"] = json!([{"name": "d", "sha256": "2"}]);
        assert!(matches!(decide(Some(&other), &e), Decision::Redo(w) if w.contains("models")));
        let stopped = result(e.input.clone(), e.settings.clone(), true);
        assert!(matches!(decide(Some(&stopped), &e), Decision::Redo(w) if w.contains("finished")));
        let mut old = result(e.input.clone(), e.settings.clone(), false);
        old.header.as_object_mut().unwrap().remove("input");
        assert!(matches!(decide(Some(&old), &e), Decision::Redo(w) if w.contains("older posekit")));
    }
}
