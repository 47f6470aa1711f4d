//! One copy of a big model's weights for all workers.
//!
//! The old Python tool loaded HMR2 (2.7 GB) once per worker process, and N copies ran
//! WSL out of memory. posekit's workers are threads, so they can share. Three layouts
//! are built here, and `docs/hmr2-onnx.md` has what each measured on the 2.7 GB proxy:
//!
//! - [`WeightSharing::PerWorker`]: a session per worker, each with its own weights: the
//!   baseline that multiplies memory by the worker count.
//! - [`WeightSharing::Prepacked`]: a session per worker with one ONNX Runtime
//!   prepacked-weights container, so the packed GEMM weights (nearly all of a ViT's
//!   bytes once prepacked) exist once.
//! - [`WeightSharing::Shared`]: one session with all workers' intra-op threads, behind a
//!   lock. ort rc.15 runs a session through `&mut`, so workers take turns; each turn
//!   uses every core, and the other workers do their BlazePose work meanwhile.
//!
//! Measured: only `Shared` keeps two workers near one worker's memory (1.03× against
//! 1.95× for the other two: the prepacked container did not spare the initializers), and
//! its speed was within the run-to-run noise of the others, so it is the default.

use std::sync::{Arc, Mutex};

use ndarray::ArrayViewD;
use ort::session::builder::PrepackedWeights;

use super::{Engine, EngineError, Inference, ModelInfo, ModelSource, OrtModel, Outputs, Placement};

/// How the workers of one run hold a model's weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightSharing {
    PerWorker,
    Prepacked,
    /// The default: see the measurements in `docs/hmr2-onnx.md`.
    #[default]
    Shared,
}

impl WeightSharing {
    pub fn name(self) -> &'static str {
        match self {
            WeightSharing::PerWorker => "per-worker",
            WeightSharing::Prepacked => "prepacked",
            WeightSharing::Shared => "shared",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::PerWorker, Self::Prepacked, Self::Shared]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

impl Engine {
    /// One handle per worker on `source`, laid out as `sharing` says and placed as
    /// `placement` says. Every handle runs the same model; only where the weights live,
    /// and who waits, differ.
    pub fn worker_sessions(
        &self,
        source: &ModelSource,
        workers: usize,
        threads_per_worker: usize,
        sharing: WeightSharing,
        placement: &Placement,
    ) -> Result<Vec<Box<dyn Inference>>, EngineError> {
        let workers = workers.max(1);
        match sharing {
            WeightSharing::PerWorker => (0..workers)
                .map(|_| {
                    let model = self.session_on(source, threads_per_worker, placement)?;
                    Ok(Box::new(model) as _)
                })
                .collect(),
            WeightSharing::Prepacked => {
                let container = PrepackedWeights::new();
                (0..workers)
                    .map(|_| {
                        let model = self.session_with(
                            source,
                            threads_per_worker,
                            Some(&container),
                            placement,
                        )?;
                        Ok(Box::new(model) as _)
                    })
                    .collect()
            }
            WeightSharing::Shared => {
                let model = self.session_on(source, workers * threads_per_worker, placement)?;
                let info = model.info.clone();
                let shared = Arc::new(Mutex::new(model));
                Ok((0..workers)
                    .map(|_| {
                        Box::new(SharedHandle {
                            session: Arc::clone(&shared),
                            info: info.clone(),
                        }) as _
                    })
                    .collect())
            }
        }
    }
}

/// A worker's handle on the one shared session.
struct SharedHandle {
    session: Arc<Mutex<OrtModel>>,
    info: ModelInfo,
}

impl Inference for SharedHandle {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
        // A poisoned lock means another worker panicked mid-run; ORT's session itself is
        // still sound (its C Run is thread-safe), so carry on with it.
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        session.run(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            WeightSharing::PerWorker,
            WeightSharing::Prepacked,
            WeightSharing::Shared,
        ] {
            assert_eq!(WeightSharing::parse(s.name()), Some(s));
        }
        assert_eq!(WeightSharing::parse("copies"), None);
    }
}
