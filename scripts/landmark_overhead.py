"""The landmark stage's cost per person in `posekit process` against the bare landmark model.

Alternates, in one run: `posekit process CLIP --mode video --workers 1 --threads-per-worker 1
--json` (the stage's time per call is the summary's `stages.landmarks_s / landmark_calls`:
crop, model and decoding, per person), and a bare loop over the same ONNX file in ONNX
Runtime's Python API with posekit's session settings (1 intra-op thread, no spinning, all
graph optimisations), on one input, after warm-up. Both sides use the ONNX Runtime release
`scripts/setup.sh` installs. Prints the medians and their ratio (the issue's goal: <= 1.1).

Run by scripts/landmark_overhead.sh, which makes the venv.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time


def bare_ms(model: str, calls: int) -> float:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    spec = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in spec.shape]
    x = np.random.RandomState(0).rand(*shape).astype(np.float32)
    for _ in range(20):
        session.run(None, {spec.name: x})
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        session.run(None, {spec.name: x})
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def stage_ms(posekit: str, clip: str, out: str) -> float:
    cmd = [posekit, "process", clip, "--mode", "video", "--workers", "1",
           "--threads-per-worker", "1", "-o", out, "--overwrite", "--force", "--json"]
    line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[0]
    report = json.loads(line)
    if report.get("status") != "done":
        sys.exit(f"landmark_overhead: posekit did not run the frames: {line}")
    stages = report["summary"]["stages"]
    return 1000 * stages["landmarks_s"] / max(1, stages["landmark_calls"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("posekit")
    ap.add_argument("clip")
    ap.add_argument("model", help="the landmark model posekit runs (models/pose_landmark_full.onnx)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=300, help="bare calls per run")
    a = ap.parse_args()
    stage, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(a.runs):
            stage.append(stage_ms(a.posekit, a.clip, f"{tmp}/r.poses.jsonl"))
            bare.append(bare_ms(a.model, a.calls))
            print(f"run {run + 1}: stage {stage[-1]:.2f} ms, bare model {bare[-1]:.2f} ms",
                  file=sys.stderr)
    s, b = statistics.median(stage), statistics.median(bare)
    print(json.dumps({"stage_ms": stage, "bare_ms": bare, "median_stage_ms": s,
                      "median_bare_ms": b, "ratio": s / b}))
    print(f"landmark stage {s:.2f} ms per person, bare model {b:.2f} ms: {s / b:.2f}x",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
