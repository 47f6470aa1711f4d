#!/usr/bin/env python3
"""Jitter of posekit's landmarks per smoothing mode, against MediaPipe's own smoothing.

Usage:

    python scripts/jitter.py VIDEO --posekit BIN [--frames N] [--workers W]
        [--cache DIR] [--json OUT.json] [--keep DIR]

Needs the ffmpeg/ffprobe CLI and a Python with ``mediapipe==0.10.14`` and numpy (the venv
scripts/speed_vs_mediapipe.sh makes works; scripts/jitter.sh runs this with it).

What it does:

* Runs ``BIN process VIDEO --mode video --smooth S --workers W`` for S in none, causal,
  offline (``--max-frames N`` with ``--frames``).
* Runs MediaPipe's Python Pose solution in video mode with ``smooth_landmarks=False`` and
  ``=True`` (scripts/compare_mediapipe.py's decoding and cache, so both see posekit's pixels).
* Jitter of one result: for every person seen in three consecutive frames t-1, t, t+1 with
  the same ``track_id`` (MediaPipe: its one person), the mean over the 33 landmarks of the
  2D second difference |p(t+1) - 2 p(t) + p(t-1)| in pixels, divided by the diagonal of the
  person's landmark box at t; the jitter is the median of that over all such (t, person).
  Real motion has a second difference too (acceleration), so no smoother reaches 0.
* Agreement of posekit causal with MediaPipe smoothed: per frame where both find someone,
  MediaPipe's person against the closest posekit person, mean landmark distance over the
  box diagonal (as compare_mediapipe.py); median and p95. The same for posekit none against
  MediaPipe unsmoothed is the baseline: causal reproduces MediaPipe's filter when its
  agreement with MediaPipe smoothed is as good as that baseline.

Prints one table; ``--json`` writes the numbers. Exit status 0, or 2 on a usage or
input error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_mediapipe as cm  # noqa: E402

MODES = ("none", "causal", "offline")


def posekit_frames(binary: str, video: str, smooth: str, workers: int, frames: int | None,
                   out_dir: str) -> dict[int, list]:
    out = os.path.join(out_dir, f"{os.path.basename(video)}.{smooth}.jsonl")
    cmd = [binary, "process", video, "--mode", "video", "--smooth", smooth,
           "--workers", str(workers), "-o", out, "--overwrite", "--json"]
    if frames:
        cmd += ["--max-frames", str(frames)]
    cm.eprint("running", " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return cm.load_posekit(out)[1]


def mediapipe_frames(res: dict) -> dict[int, list]:
    """MediaPipe's result as posekit-like frames: its one person has track 1."""
    frames = {}
    for rec in res["frames"]:
        p = rec["person"]
        frames[rec["frame"]] = [{"track_id": 1, "keypoints": p["keypoints"]}] if p else []
    return frames


def jitter(frames: dict[int, list]) -> tuple[float, int]:
    """Median normalised second difference, and how many samples it is over."""
    import numpy as np

    def by_track(persons):
        return {p.get("track_id", 0): np.asarray(p["keypoints"], dtype=np.float64)[:33, :2]
                for p in persons if not p.get("filled")}

    samples = []
    for t in sorted(frames):
        if t - 1 not in frames or t + 1 not in frames:
            continue
        before, now, after = (by_track(frames[k]) for k in (t - 1, t, t + 1))
        for track, p in now.items():
            if track in before and track in after:
                second = after[track] - 2 * p + before[track]
                diag = float(np.hypot(*(p.max(0) - p.min(0))))
                if diag > 0:
                    samples.append(float(np.mean(np.hypot(*second.T))) / diag)
    if not samples:
        return float("nan"), 0
    return float(np.median(samples)), len(samples)


def agreement(mp: dict[int, list], pk: dict[int, list]) -> tuple[float, float, int]:
    """Median and p95 landmark distance (of the box diagonal) over frames both found."""
    import numpy as np
    d = []
    for t, persons in mp.items():
        if persons and pk.get(t):
            mk = persons[0]["keypoints"]
            d.append(min(cm.landmark_distance(mk, p["keypoints"]) for p in pk[t]))
    if not d:
        return float("nan"), float("nan"), 0
    return float(np.median(d)), float(np.percentile(d, 95)), len(d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--posekit", required=True, help="the posekit binary")
    ap.add_argument("--frames", type=int, help="only the first N frames")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/posekit/mediapipe"))
    ap.add_argument("--sws-flags", default=cm.DEFAULT_SWS_FLAGS)
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--keep", help="keep posekit's results in this folder")
    a = ap.parse_args()
    if not os.path.isfile(a.video):
        cm.eprint(f"jitter: {a.video}: no such file")
        return 2
    out_dir = a.keep or tempfile.mkdtemp(prefix="posekit-jitter-")
    os.makedirs(out_dir, exist_ok=True)
    pk = {s: posekit_frames(a.posekit, a.video, s, a.workers, a.frames, out_dir) for s in MODES}
    mp = {smooth: mediapipe_frames(cm.mediapipe_results(a.video, "video", a.frames, a.cache,
                                                        a.sws_flags, smooth=smooth))
          for smooth in (False, True)}
    rows = {f"posekit {s}": jitter(pk[s]) for s in MODES}
    rows["mediapipe raw"] = jitter(mp[False])
    rows["mediapipe smooth_landmarks"] = jitter(mp[True])
    agree = {
        "posekit causal vs mediapipe smooth_landmarks": agreement(mp[True], pk["causal"]),
        "posekit none vs mediapipe raw (baseline)": agreement(mp[False], pk["none"]),
        "posekit none vs mediapipe smooth_landmarks": agreement(mp[True], pk["none"]),
    }
    name = os.path.basename(a.video)
    print(f"{name}: jitter (median of mean |second difference| / box diagonal)")
    for k, (j, n) in rows.items():
        print(f"  {k:32s} {j * 100:7.3f} %   ({n} samples)")
    print(f"{name}: landmark distance / box diagonal, median and p95")
    for k, (med, p95, n) in agree.items():
        print(f"  {k:48s} {med * 100:6.2f} %  {p95 * 100:6.2f} %   ({n} frames)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"video": a.video, "frames": a.frames, "workers": a.workers,
                       "jitter": {k: {"median": j, "samples": n} for k, (j, n) in rows.items()},
                       "agreement": {k: {"median": m, "p95": p, "frames": n}
                                     for k, (m, p, n) in agree.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
