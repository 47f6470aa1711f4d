//! What a model costs in memory, the way posekit really holds it: one process whose
//! worker threads share one copy of each model's weights, so the weights count once and
//! only each worker's own state (sessions, arenas, frames, activations) counts per worker.

use serde::Serialize;

use crate::doctor::resources::{BASE_BYTES, PER_WORKER_BYTES};

/// Activations and arena of one worker running a user's model, on top of the shared
/// weights. An **estimate**, not a measurement: HMR2's ViT-H/16 on a 256×192 crop has 192
/// tokens × 1280 wide, so one layer's largest tensors are small (the MLP's 192×5120 fp32
/// is 4 MB, attention 16×192×192 is 2.4 MB), but ONNX Runtime's arena grows in doubling
/// steps and keeps per-session scratch for its GEMMs. 300 MiB is deliberately generous
/// until `posekit bench` measures the real figure (a saved bench layout then wins).
pub const USER_MODEL_PER_WORKER_BYTES: u64 = 300 << 20;

/// The model (or models) one `process` run holds, as memory: `need(w)` bytes for `w`
/// workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelCost {
    /// Stable key for saved bench layouts: `blazepose`, `blazepose+hmr2`.
    pub key: String,
    /// For people: `BlazePose + hmr2 (2.5 GiB)`.
    pub name: String,
    /// The process before any worker: runtime, decoder, queues, built-in models.
    pub base_bytes: u64,
    /// Each worker's own sessions, arenas, frames and activations.
    pub per_worker_bytes: u64,
    /// Weights loaded once and shared by every worker.
    pub shared_weights_bytes: u64,
    /// Where each number comes from, one line each.
    pub basis: Vec<String>,
}

/// A model named in `posekit.toml`: its name and the size of its weights on disk (the
/// ONNX file plus its external data file), or why it could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserModel {
    pub name: String,
    pub weights_bytes: Result<u64, String>,
}

impl ModelCost {
    /// BlazePose alone, from measurements (see `doctor::resources`).
    pub fn blazepose() -> Self {
        ModelCost {
            key: "blazepose".into(),
            name: "BlazePose".into(),
            base_bytes: BASE_BYTES,
            per_worker_bytes: PER_WORKER_BYTES,
            shared_weights_bytes: 0,
            basis: vec![format!(
                "BlazePose: {} base + {} per worker, measured (peak RSS 260 MiB with 1 worker, 350 MiB with 2, on a 1768×994 video)",
                super::size(BASE_BYTES),
                super::size(PER_WORKER_BYTES)
            )],
        }
    }

    /// BlazePose plus each user model: its weights once, and an estimated activation cost
    /// per worker. A model whose file cannot be read is named in `basis`, not counted.
    pub fn with_models(models: &[UserModel]) -> Self {
        let mut cost = Self::blazepose();
        for model in models {
            match &model.weights_bytes {
                Ok(bytes) => {
                    cost.key.push('+');
                    cost.key.push_str(&sanitize(&model.name));
                    cost.name
                        .push_str(&format!(" + {} ({})", model.name, super::size(*bytes)));
                    cost.shared_weights_bytes += bytes;
                    cost.per_worker_bytes += USER_MODEL_PER_WORKER_BYTES;
                    cost.basis.push(format!(
                        "{}: {} of weights on disk, counted once (workers share them) + {} per worker (estimated activations)",
                        model.name,
                        super::size(*bytes),
                        super::size(USER_MODEL_PER_WORKER_BYTES)
                    ));
                }
                Err(reason) => cost.basis.push(format!(
                    "{}: not counted, its file cannot be read ({reason})",
                    model.name
                )),
            }
        }
        cost
    }

    /// Bytes for `workers` workers.
    pub fn need(&self, workers: usize) -> u64 {
        self.base_bytes + self.shared_weights_bytes + self.per_worker_bytes * workers as u64
    }

    /// How many workers fit in `budget` bytes (0 when not even one does).
    pub fn workers_within(&self, budget: u64) -> usize {
        let fixed = self.base_bytes + self.shared_weights_bytes;
        (budget.saturating_sub(fixed) / self.per_worker_bytes.max(1)) as usize
    }
}

/// Lowercase letters, digits and single dashes: safe as a bare TOML key.
pub fn sanitize(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn blazepose_matches_the_measurements() {
        let cost = ModelCost::blazepose();
        assert_eq!(cost.need(1), 260 << 20);
        assert_eq!(cost.need(2), 350 << 20);
        assert_eq!(cost.key, "blazepose");
    }

    #[test]
    fn user_weights_count_once_whatever_the_workers() {
        let models = [UserModel {
            name: "HMR2".into(),
            weights_bytes: Ok(2_700_000_000),
        }];
        let cost = ModelCost::with_models(&models);
        assert_eq!(cost.key, "blazepose+hmr2");
        let one = cost.need(1);
        let four = cost.need(4);
        assert_eq!(
            four - one,
            3 * (PER_WORKER_BYTES + USER_MODEL_PER_WORKER_BYTES)
        );
        assert!(
            one > 2_700_000_000 && four < 2 * 2_700_000_000,
            "weights once"
        );
    }

    #[test]
    fn unreadable_models_are_named_not_counted() {
        let models = [UserModel {
            name: "hmr2".into(),
            weights_bytes: Err("No such file".into()),
        }];
        let cost = ModelCost::with_models(&models);
        assert_eq!(cost.need(2), ModelCost::blazepose().need(2));
        assert!(cost.basis[1].contains("not counted"));
    }

    #[test]
    fn workers_within_a_budget() {
        let cost = ModelCost::blazepose();
        assert_eq!(cost.workers_within(cost.need(3)), 3);
        assert_eq!(cost.workers_within(cost.need(3) - 1), 2);
        assert_eq!(cost.workers_within(100 << 20), 0);
        assert_eq!(cost.workers_within(GIB), 9);
    }

    #[test]
    fn keys_are_bare_toml_keys() {
        assert_eq!(
            sanitize("AMD EPYC 7B13 64-Core Processor"),
            "amd-epyc-7b13-64-core-processor"
        );
        assert_eq!(sanitize("  Intel(R) Core(TM) i7 "), "intel-r-core-tm-i7");
    }
}
