#!/usr/bin/env python3
"""Whole-command wall time of MediaPipe's Python Pose solution against `posekit process`.

Run it through scripts/speed_vs_mediapipe.sh, which builds the pinned MediaPipe venv this
needs. The script is its own MediaPipe child: `speed_vs_mediapipe.py mediapipe CLIP` decodes
CLIP with PyAV and runs the solution in video mode over every frame. Timing that child as a
separate process, like posekit, means both sides pay their start-up (imports, model loading),
which is what a user waits for.

For each clip the commands run alternately (the order rotates every repetition, so neither
side always goes first into a warm or a cold cache), each a number of times after an untimed
warm-up, and the report gives the median wall time and MediaPipe's median divided by each
posekit median: the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

MP_VERSION = "0.10.14"


def eprint(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the child


def run_mediapipe(clip: str, max_frames: int | None) -> int:
    """MediaPipe in video mode over the clip; prints frames seen as one JSON line."""
    import av
    import mediapipe as mp

    frames = with_person = 0
    # smooth_landmarks=False: posekit does not smooth either, so both do the same work.
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                smooth_landmarks=False) as pose, av.open(clip) as container:
        stream = container.streams.video[0]
        # PyAV's own threads decode ahead while MediaPipe works, as posekit's decoder does.
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if max_frames is not None and frames >= max_frames:
                break
            result = pose.process(frame.to_ndarray(format="rgb24"))
            frames += 1
            with_person += result.pose_landmarks is not None
    print(json.dumps({"frames": frames, "frames_with_person": with_person}))
    return 0


# --------------------------------------------------------------------------- the driver


class Failure(Exception):
    """A command failed or a prerequisite is missing; the message says which and what to do."""


def parse_clip(spec: str) -> tuple[str, int | None]:
    """CLIP or CLIP:FRAMES (the first FRAMES frames only)."""
    head, sep, tail = spec.rpartition(":")
    if sep and tail.isdigit() and head:
        return head, int(tail)
    return spec, None


def parse_posekit(spec: str) -> tuple[str, str]:
    """PATH or LABEL=PATH; the label defaults to 'posekit' for one binary."""
    label, sep, path = spec.partition("=")
    if not sep:
        label, path = "", spec
    return label, path


def check_binary(path: str) -> str:
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise Failure(f"posekit binary not found or not executable: {path}\n"
                      "  build it with `cargo build --release`, or pass --posekit PATH "
                      "(or set POSEKIT)")
    return os.path.abspath(path)


def takes_force(path: str) -> bool:
    """Whether this posekit binary has `process --force` (resume came with it)."""
    help_text = subprocess.run([path, "process", "--help"], capture_output=True, text=True).stdout
    return "--force" in help_text


def time_command(cmd: list[str], log_dir: str, tag: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run; its output goes to files so printing
    costs nothing. CPU time is reported too because it moves less than wall time when other
    work shares the machine."""
    out_path = os.path.join(log_dir, f"{tag}.out")
    err_path = os.path.join(log_dir, f"{tag}.err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        rc = subprocess.run(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if rc != 0:
        with open(err_path, "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-15:]
        raise Failure(f"command failed (exit {rc}): {' '.join(cmd)}\n  " + "\n  ".join(tail))
    return elapsed, cpu


def posekit_frames(jsonl: str) -> tuple[int, int, int]:
    """frames, frames with a person and workers from a posekit result file."""
    frames = with_person = workers = -1
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            if '"header"' in line or '"summary"' in line:
                o = json.loads(line)
                if o.get("type") == "header":
                    workers = o["settings"]["workers"]
                elif o.get("type") == "summary":
                    frames, with_person = o["frames"], o["frames_with_person"]
    if frames < 0:
        raise Failure(f"{jsonl} has no summary line: posekit did not finish")
    return frames, with_person, workers


def measure_clip(clip: str, max_frames: int | None, binaries: list[tuple[str, str]],
                 workers: list[str], runs: int, warmup: int, work: str) -> dict:
    name = os.path.basename(clip)
    cap = ["--max-frames", str(max_frames)] if max_frames else []
    mp_cmd = [sys.executable, os.path.abspath(__file__), "mediapipe", clip] + cap
    commands = [{"name": "mediapipe", "cmd": mp_cmd, "kind": "mediapipe"}]
    for label, path in binaries:
        for w in workers:
            out = os.path.join(work, f"{len(commands)}.jsonl")
            # --force: a run must redo the work, not find the last run's result complete
            # and skip it (binaries from before resume existed lack the flag).
            redo = ["--force"] if takes_force(path) else []
            cmd = [path, "process", clip, "--mode", "video", "-o", out, "--overwrite"] + redo + cap
            wname = "default workers" if w == "default" else f"--workers {w}"
            if w != "default":
                cmd += ["--workers", w]
            shown = f"{label}, {wname}" if label else wname
            commands.append({"name": f"posekit ({shown})", "cmd": cmd, "kind": "posekit",
                             "binary": path, "workers_flag": w, "output": out})
    for c in commands:
        c["seconds"], c["cpu_seconds"] = [], []

    total = warmup + runs
    for rep in range(total):
        timed = rep >= warmup
        # Rotate the order each repetition so no command always runs first.
        k = rep % len(commands)
        for c in commands[k:] + commands[:k]:
            step = (f"run {rep - warmup + 1} of {runs}" if timed
                    else f"warm-up {rep + 1} of {warmup}")
            eprint(f"  {name}: {step}: {c['name']}")
            wall, cpu = time_command(c["cmd"], work, f"{commands.index(c)}.{rep}")
            if timed:
                c["seconds"].append(wall)
                c["cpu_seconds"].append(cpu)

    # What each side saw, from its last run.
    last = total - 1
    with open(os.path.join(work, f"0.{last}.out"), encoding="utf-8") as f:
        seen = json.loads(f.read().strip().splitlines()[-1])
    mp_median = statistics.median(commands[0]["seconds"])
    rows = []
    for c in commands:
        row = {"command": c["name"], "argv": c["cmd"], "seconds": c["seconds"],
               "median_s": statistics.median(c["seconds"]),
               "min_s": min(c["seconds"]), "max_s": max(c["seconds"]),
               "cpu_seconds": c["cpu_seconds"], "median_cpu_s": statistics.median(c["cpu_seconds"])}
        if c["kind"] == "mediapipe":
            row["frames"], row["frames_with_person"] = seen["frames"], seen["frames_with_person"]
        else:
            row["frames"], row["frames_with_person"], row["workers"] = posekit_frames(c["output"])
            row["binary"] = c["binary"]
            if c["workers_flag"] == "default":
                # Say what "default" came to on this machine (cores, or a saved layout).
                row["command"] = row["command"][:-1] + f": {row['workers']})"
        row["speedup_vs_mediapipe"] = mp_median / row["median_s"]
        rows.append(row)
    return {"clip": clip, "max_frames": max_frames, "frames": seen["frames"], "rows": rows}


def print_table(result: dict, runs: int) -> None:
    first = "the first " if result["max_frames"] else ""
    print(f"\n{os.path.basename(result['clip'])} ({first}{result['frames']} frames; "
          f"median of {runs} run{'s' if runs > 1 else ''})")
    header = ("command", "frames", "with person", "median s", "min … max s", "fps", "speed-up",
              "CPU s")
    lines = []
    for r in result["rows"]:
        lines.append((r["command"], str(r["frames"]), str(r["frames_with_person"]), f"{r['median_s']:.2f}",
                      f"{r['min_s']:.2f} … {r['max_s']:.2f}",
                      f"{r['frames'] / r['median_s']:.1f}", f"{r['speedup_vs_mediapipe']:.2f}×",
                      f"{r['median_cpu_s']:.2f}"))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*header))
    for line in lines:
        print(fmt.format(*line))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "mediapipe":
        child = argparse.ArgumentParser(prog="speed_vs_mediapipe.py mediapipe")
        child.add_argument("clip")
        child.add_argument("--max-frames", type=int)
        a = child.parse_args(sys.argv[2:])
        return run_mediapipe(a.clip, a.max_frames)

    ap = argparse.ArgumentParser(
        description="Wall time of MediaPipe's Python Pose solution (video mode) against "
                    "`posekit process --mode video`, per clip.",
        epilog="Run through scripts/speed_vs_mediapipe.sh, which makes the MediaPipe venv.")
    ap.add_argument("clips", nargs="+", metavar="CLIP[:FRAMES]",
                    help="videos; CLIP:FRAMES times only the first FRAMES frames on both sides")
    ap.add_argument("--posekit", action="append", metavar="[LABEL=]PATH",
                    help="posekit binary; repeat with labels to time several in the same run, "
                         "e.g. --posekit before=/tmp/posekit-old --posekit after=target/release/"
                         "posekit (default: $POSEKIT, else target/release/posekit)")
    ap.add_argument("--workers", default="default,1",
                    help="posekit worker settings, comma-separated; 'default' passes no "
                         "--workers flag (default: default,1)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per command (default 3)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed runs of each command first (default 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-': stdout, "
                    "and no table)")
    args = ap.parse_args()
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be at least 1 and --warmup at least 0")

    try:
        import mediapipe as mp
        if mp.__version__ != MP_VERSION:
            raise Failure(f"this Python ({sys.executable}) has mediapipe {mp.__version__}, "
                          f"not {MP_VERSION}; run through scripts/speed_vs_mediapipe.sh")
        specs = args.posekit or [os.environ.get("POSEKIT") or "target/release/posekit"]
        binaries = []
        for spec in specs:
            label, path = parse_posekit(spec)
            binaries.append((label, check_binary(path)))
        clips = []
        for spec in args.clips:
            clip, frames = parse_clip(spec)
            if not os.path.isfile(clip):
                raise Failure(f"clip not found: {clip}")
            clips.append((os.path.abspath(clip), frames))
        workers = [w.strip() for w in args.workers.split(",") if w.strip()]
        for w in workers:
            if w != "default" and not (w.isdigit() and int(w) > 0):
                raise Failure(f"--workers: {w!r} is neither 'default' nor a positive number")

        report = {
            "about": "wall (and CPU) seconds per whole command; speedup = MediaPipe median wall "
                     "/ this median wall",
            "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "mediapipe": MP_VERSION, "runs": args.runs, "warmup": args.warmup, "clips": [],
        }
        for clip, frames in clips:
            with tempfile.TemporaryDirectory(prefix="speed_vs_mediapipe.") as work:
                result = measure_clip(clip, frames, binaries, workers, args.runs, args.warmup,
                                      work)
            report["clips"].append(result)
            if args.json != "-":
                print_table(result, args.runs)
                sys.stdout.flush()
    except Failure as e:
        eprint(f"speed_vs_mediapipe: {e}")
        return 1

    if args.json:
        text = json.dumps(report, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            tmp = args.json + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, args.json)
            eprint(f"results in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
