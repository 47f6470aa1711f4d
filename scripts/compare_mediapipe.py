#!/usr/bin/env python3
"""Compare posekit's BlazePose output with MediaPipe's own Python Pose solution.

Usage:

    python scripts/compare_mediapipe.py VIDEO POSEKIT.jsonl --mode image|video
        [--frames N] [--cache DIR] [--json OUT.json] [--sws-flags FLAGS]
    python scripts/compare_mediapipe.py VIDEO --export-jsonl OUT.jsonl --mode image|video
        # writes MediaPipe's own result in posekit's JSONL format (for testing this script)
    python scripts/compare_mediapipe.py --self-test
        # checks the colour conversion of the decoder on synthetic clips

Needs the ffmpeg/ffprobe CLI and a Python with ``mediapipe==0.10.14`` (see
scripts/requirements-convert.txt; the venv made for scripts/convert_blazepose.py works).

What it does:

* Decodes VIDEO with the ffmpeg CLI to RGB24, frame by frame, the way posekit's decoder
  does: the stream's colour matrix and range are read with ffprobe and passed explicitly to
  the scaler (``scale=in_color_matrix=bt709:in_range=limited`` for a BT.709 file; an untagged
  stream gets BT.709 above 576 lines, else BT.601), with posekit's swscale flags
  (``--sws-flags``, default ``bilinear+full_chroma_int``).  (FFmpeg 5.1's CLI
  already follows the frame's matrix tag by default, but the explicit form does not rely on
  that; the untagged rule differs from ffmpeg's, which is always BT.601.)  ffmpeg applies
  the stream's rotation, as posekit's coordinates assume.
  MediaPipe is sensitive to the decoding on hard clips: on the Sports2D demo, ffmpeg's
  default flags (``bicubic``) instead of posekit's change MediaPipe's frames-with-person from
  136 to 137 (image mode) and 224 to 221 (video mode), and MediaPipe compared with itself
  across those two decodings fails the image-mode p95 bar.  Keep the flags equal to
  posekit's.
* Runs ``mediapipe.solutions.pose.Pose(model_complexity=1, static_image_mode=(mode=="image"),
  smooth_landmarks=False, min_detection_confidence=0.5)`` on every frame and caches its
  result as JSON in ``--cache`` (default ``~/.cache/posekit/mediapipe``), keyed by the
  video's sha256, the mode, the decoder settings and the MediaPipe version.
* Per frame, pairs MediaPipe's one person with the posekit person whose 33 landmarks are
  closest (mean 2D pixel distance), and reports:
  - frames compared; frames where MediaPipe finds a person; where posekit does;
  - recall: share of MediaPipe-positive frames where posekit also finds a person;
  - posekit-only frames;
  - landmark distance: mean over the 33 landmarks of the 2D pixel distance, divided by the
    diagonal of MediaPipe's landmark bounding box; median and 95th percentile over the
    frames where both find a person.
* Bars: image mode recall >= 0.95, median < 1 %, p95 < 5 %;
        video mode posekit frames-with-person >= MediaPipe's, median < 3 %.
  Prints PASS or FAIL; the exit status is 0 for PASS, 1 for FAIL, 2 for a usage/input error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

# posekit's decoder (src/pipeline/source/convert.rs) calls swscale with
# SWS_BILINEAR | SWS_FULL_CHR_H_INT; use the same so both see the same pixels.
DEFAULT_SWS_FLAGS = "bilinear+full_chroma_int"
CACHE_FORMAT = 1
N_LANDMARKS = 33

# ffprobe's color_space -> swscale's in_color_matrix
MATRIX = {
    "bt709": "bt709",
    "smpte170m": "bt601",
    "bt470bg": "bt601",
    "smpte240m": "smpte240m",
    "fcc": "fcc",
    "bt2020nc": "bt2020",
    "bt2020c": "bt2020",
}
# ffprobe's color_range -> swscale's in_range
RANGE = {"tv": "limited", "mpeg": "limited", "pc": "full", "jpeg": "full"}


def eprint(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- decoding


def probe(video: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height,pix_fmt,color_space,color_range,r_frame_rate,nb_frames",
         "-of", "json", video], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"ffprobe failed on {video}: {out.stderr.strip()}")
    streams = json.loads(out.stdout).get("streams") or []
    if not streams:
        raise SystemExit(f"no video stream in {video}")
    return streams[0]


def scale_filter(info: dict, sws_flags: str) -> tuple[str, str, str]:
    """The -vf chain that converts to RGB24 with the stream's own matrix and range.

    An untagged stream gets BT.709 above 576 lines and BT.601 otherwise, as posekit does.
    """
    matrix = MATRIX.get(info.get("color_space", ""))
    if matrix is None:
        matrix = "bt709" if int(info.get("height") or 0) > 576 else "bt601"
    rng = RANGE.get(info.get("color_range", ""), "auto")
    vf = f"scale=in_color_matrix={matrix}:in_range={rng}:flags={sws_flags},format=rgb24"
    return vf, matrix, rng


def read_exact(f, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def read_ppm_token(f) -> bytes:
    tok = b""
    while True:
        c = f.read(1)
        if not c:
            return tok
        if c == b"#":
            while c not in (b"\n", b""):
                c = f.read(1)
            continue
        if c.isspace():
            if tok:
                return tok
            continue
        tok += c


def decode_rgb(video: str, sws_flags: str = DEFAULT_SWS_FLAGS, max_frames: int | None = None):
    """Yield (index, HxWx3 uint8 RGB ndarray). Streams PPM so each frame carries its size."""
    import numpy as np
    info = probe(video)
    vf, _, _ = scale_filter(info, sws_flags)
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", video, "-map", "0:v:0", "-vf", vf,
           "-fps_mode", "passthrough"]
    if max_frames is not None:
        cmd += ["-frames:v", str(max_frames)]
    cmd += ["-f", "image2pipe", "-c:v", "ppm", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    i = 0
    try:
        while True:
            magic = read_ppm_token(proc.stdout)
            if not magic:
                break
            if magic != b"P6":
                raise RuntimeError(f"unexpected data from ffmpeg: {magic[:20]!r}")
            w, h, mx = (int(read_ppm_token(proc.stdout)) for _ in range(3))
            if mx != 255:
                raise RuntimeError("expected 8-bit PPM")
            data = read_exact(proc.stdout, w * h * 3)
            if len(data) != w * h * 3:
                break
            yield i, np.frombuffer(data, np.uint8).reshape(h, w, 3)
            i += 1
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait()
    if rc != 0:
        raise RuntimeError(f"ffmpeg failed ({rc}): {err.strip()}")


# --------------------------------------------------------------------------- MediaPipe


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_mediapipe(video: str, mode: str, frames: int | None, sws_flags: str,
                  smooth: bool = False, complexity: int = 1):
    import mediapipe as mp
    if complexity != 1:
        # The wheel carries only the full model; MediaPipe downloads the others at run time.
        # Offline, put the same files there first: the npm package @mediapipe/pose ships
        # them (its pose_landmark_full.tflite is byte for byte the wheel's).
        name = ["pose_landmark_lite.tflite", None, "pose_landmark_heavy.tflite"][complexity]
        where = os.path.join(os.path.dirname(mp.__file__), "modules", "pose_landmark", name)
        if not os.path.exists(where):
            sys.exit(f"MediaPipe needs {where} for model_complexity={complexity}: copy it from "
                     "the npm package @mediapipe/pose@0.5.1675469404 (package/" + name + ")")
    pose = mp.solutions.pose.Pose(
        model_complexity=complexity, static_image_mode=(mode == "image"),
        smooth_landmarks=smooth, min_detection_confidence=0.5)
    out = []
    size = None
    try:
        for i, rgb in decode_rgb(video, sws_flags, frames):
            h, w = rgb.shape[:2]
            size = [w, h]
            res = pose.process(rgb)
            rec = {"frame": i, "person": None}
            if res.pose_landmarks:
                lm = res.pose_landmarks.landmark
                kp = [[l.x * w, l.y * h, l.z * w, l.visibility, l.presence] for l in lm]
                world = ([[l.x, l.y, l.z] for l in res.pose_world_landmarks.landmark]
                         if res.pose_world_landmarks else [])
                rec["person"] = {"keypoints": kp, "world": world}
            out.append(rec)
            if (i + 1) % 50 == 0:
                eprint(f"  mediapipe {mode}: {i + 1} frames")
    finally:
        pose.close()
    return out, size, mp.__version__


def mediapipe_results(video: str, mode: str, frames: int | None, cache_dir: str | None,
                      sws_flags: str, smooth: bool = False, complexity: int = 1) -> dict:
    """MediaPipe's result, from the cache when it has it. ``smooth`` runs it with
    ``smooth_landmarks=True`` (scripts/jitter.py); the cache key changes only then, so
    the unsmoothed results cached before stay valid."""
    import mediapipe as mp
    sha = sha256_file(video)
    info = probe(video)
    _, matrix, rng = scale_filter(info, sws_flags)
    parts = [CACHE_FORMAT, sha, mode, sws_flags, matrix, rng, mp.__version__]
    if smooth:
        parts.append("smooth_landmarks")
    if complexity != 1:
        parts.append(f"model_complexity={complexity}")
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, f"{sha[:16]}-{mode}-{key}.json") if cache_dir else None
    if path and os.path.exists(path):
        with open(path) as f:
            cached = json.load(f)
        # a cache of the whole clip, or of at least as many frames as asked for, serves
        if cached.get("complete") or (frames is not None and len(cached["frames"]) >= frames):
            if frames is not None:
                cached["frames"] = cached["frames"][:frames]
            eprint(f"using cached MediaPipe result {path}")
            return cached
    eprint(f"running MediaPipe ({mode} mode) on {video} ...")
    recs, size, ver = run_mediapipe(video, mode, frames, sws_flags, smooth, complexity)
    result = {
        "format": CACHE_FORMAT,
        "video_sha256": sha,
        "mode": mode,
        "mediapipe": ver,
        "settings": {"model_complexity": complexity, "static_image_mode": mode == "image",
                     "smooth_landmarks": smooth, "min_detection_confidence": 0.5},
        "decode": {"color_matrix": matrix, "range": rng, "sws_flags": sws_flags},
        "size": size,
        "complete": frames is None or len(recs) < frames,
        "frames": recs,
    }
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f)
        os.replace(tmp, path)
        eprint(f"cached MediaPipe result in {path}")
    return result


def export_jsonl(mp_res: dict, video: str, out: str) -> None:
    """Write MediaPipe's result in posekit's JSON Lines format."""
    import numpy as np
    fps = 30.0
    try:
        num, den = probe(video).get("r_frame_rate", "30/1").split("/")
        fps = float(num) / float(den) or 30.0
    except Exception:
        pass
    n_person = 0
    with open(out, "w") as f:
        f.write(json.dumps({"type": "header", "posekit": "mediapipe-export", "source": {"path": video},
                            "models": [{"name": "mediapipe", "sha256": ""}],
                            "settings": {"mode": mp_res["mode"]}}) + "\n")
        for rec in mp_res["frames"]:
            persons = []
            p = rec["person"]
            if p:
                kp = np.asarray(p["keypoints"])
                x1, y1 = kp[:, :2].min(0)
                x2, y2 = kp[:, :2].max(0)
                persons.append({"bbox": [float(x1), float(y1), float(x2), float(y2)], "score": 1.0,
                                "keypoints": p["keypoints"], "world": p["world"]})
                n_person += 1
            f.write(json.dumps({"type": "frame", "frame": rec["frame"], "t": rec["frame"] / fps,
                                "persons": persons}) + "\n")
        f.write(json.dumps({"type": "summary", "frames": len(mp_res["frames"]),
                            "frames_with_person": n_person}) + "\n")


# --------------------------------------------------------------------------- comparison


def load_posekit(path: str) -> tuple[dict, dict[int, list]]:
    header, frames = {}, {}
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{ln}: not JSON: {e}")
            kind = obj.get("type")
            if kind == "header":
                header = obj
            elif kind == "frame":
                frames[int(obj["frame"])] = obj.get("persons") or []
    return header, frames


def landmark_distance(mp_kp, pk_kp) -> float:
    """Mean 2D distance over the 33 landmarks / diagonal of MediaPipe's landmark box."""
    import numpy as np
    a = np.asarray(mp_kp, dtype=np.float64)[:N_LANDMARKS, :2]
    b = np.asarray(pk_kp, dtype=np.float64)[:N_LANDMARKS, :2]
    if a.shape != (N_LANDMARKS, 2) or b.shape != (N_LANDMARKS, 2):
        return math.inf
    diag = float(np.hypot(*(a.max(0) - a.min(0))))
    mean = float(np.mean(np.hypot(*(a - b).T)))
    return mean / diag if diag > 0 else math.inf


def compare(mp_res: dict, pk_frames: dict[int, list], mode: str) -> dict:
    import numpy as np
    n = len(mp_res["frames"])
    mp_pos = pk_pos = both = pk_only = missing = 0
    dists = []
    per_frame = []
    for rec in mp_res["frames"]:
        i = rec["frame"]
        if i not in pk_frames:
            missing += 1
        persons = [p for p in pk_frames.get(i, []) if p.get("keypoints")]
        has_mp = rec["person"] is not None
        has_pk = bool(persons)
        mp_pos += has_mp
        pk_pos += has_pk
        d = None
        if has_mp and has_pk:
            both += 1
            d = min(landmark_distance(rec["person"]["keypoints"], p["keypoints"]) for p in persons)
            dists.append(d)
        elif has_pk:
            pk_only += 1
        per_frame.append({"frame": i, "mediapipe": has_mp, "posekit": has_pk,
                          "persons": len(persons), "distance": d})
    extra = sorted(k for k in pk_frames if k >= n)
    recall = both / mp_pos if mp_pos else None
    med = float(np.median(dists)) if dists else None
    p95 = float(np.percentile(dists, 95)) if dists else None
    checks = []
    if mode == "image":
        checks.append(("recall >= 0.95", recall is not None and recall >= 0.95))
        checks.append(("median distance < 1%", med is not None and med < 0.01))
        checks.append(("p95 distance < 5%", p95 is not None and p95 < 0.05))
    else:
        checks.append(("posekit frames-with-person >= MediaPipe's", pk_pos >= mp_pos))
        checks.append(("median distance < 3%", med is not None and med < 0.03))
    worst = sorted((f for f in per_frame if f["distance"] is not None),
                   key=lambda f: -f["distance"])[:10]
    return {
        "mode": mode,
        "frames_compared": n,
        "frames_missing_in_posekit": missing,
        "posekit_frames_beyond_compared": len(extra),
        "mediapipe_frames_with_person": mp_pos,
        "posekit_frames_with_person": pk_pos,
        "both_frames_with_person": both,
        "recall": recall,
        "posekit_only_frames": pk_only,
        "distance_median": med,
        "distance_p95": p95,
        "distance_mean": float(np.mean(dists)) if dists else None,
        "distance_max": float(np.max(dists)) if dists else None,
        "worst_frames": [{"frame": f["frame"], "distance": f["distance"]} for f in worst],
        "checks": [{"check": c, "pass": bool(ok)} for c, ok in checks],
        "pass": all(ok for _, ok in checks),
        "mediapipe": mp_res.get("mediapipe"),
        "video_sha256": mp_res.get("video_sha256"),
        "decode": mp_res.get("decode"),
        "per_frame": per_frame,
    }


def pct(x):
    return "n/a" if x is None else f"{100 * x:.3f}%"


def report(r: dict) -> None:
    print(f"mode                          {r['mode']}")
    print(f"frames compared               {r['frames_compared']}"
          + (f"  ({r['frames_missing_in_posekit']} missing in posekit's file)"
             if r["frames_missing_in_posekit"] else ""))
    print(f"MediaPipe frames with person  {r['mediapipe_frames_with_person']}")
    print(f"posekit frames with person    {r['posekit_frames_with_person']}")
    print(f"both                          {r['both_frames_with_person']}")
    rec = r["recall"]
    print(f"recall                        {'n/a' if rec is None else f'{rec:.4f}'}")
    print(f"posekit-only frames           {r['posekit_only_frames']}")
    print(f"landmark distance median      {pct(r['distance_median'])}  (of MediaPipe's box diagonal)")
    print(f"landmark distance p95         {pct(r['distance_p95'])}")
    print(f"landmark distance max         {pct(r['distance_max'])}")
    for c in r["checks"]:
        print(f"  [{'ok' if c['pass'] else 'FAIL'}] {c['check']}")
    print("PASS" if r["pass"] else "FAIL")


# --------------------------------------------------------------------------- self-test


def self_test() -> int:
    """Decoder colour check: lossless yuv444p clips tagged BT.709, BT.601 and untagged."""
    import numpy as np
    W = 64
    rng = np.random.default_rng(7)

    def planes(h):
        y = rng.integers(16, 236, (h, W)).astype(np.uint8)
        u = rng.integers(16, 241, (h, W)).astype(np.uint8)
        v = rng.integers(16, 241, (h, W)).astype(np.uint8)
        return y, u, v

    def ref(y, u, v, kr, kb):
        kg = 1 - kr - kb
        yy = (y - 16.0) / 219
        cb, cr = (u - 128.0) / 224, (v - 128.0) / 224
        r = yy + 2 * (1 - kr) * cr
        b = yy + 2 * (1 - kb) * cb
        g = (yy - kr * r - kb * b) / kg
        return np.clip(np.stack([r, g, b], -1) * 255, 0, 255)

    t709 = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
    t601 = ["-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m"]
    cases = [("bt709", 48, t709, "bt709"), ("bt601", 48, t601, "bt601"),
             ("bt601-hd", 720, t601, "bt601"),
             ("untagged", 48, [], "bt601"),       # untagged: BT.601 up to 576 lines,
             ("untagged-hd", 720, [], "bt709")]   # BT.709 above, as posekit does
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, H, tags, want in cases:
            y, u, v = planes(H)
            raw = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).tobytes()
            refs = {"bt709": ref(y, u, v, 0.2126, 0.0722), "bt601": ref(y, u, v, 0.299, 0.114)}
            path = os.path.join(tmp, f"{name}.mkv")
            subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv444p",
                            "-s", f"{W}x{H}", "-r", "30", "-i", "-", "-c:v", "ffv1", "-color_range", "tv",
                            *tags, path], input=raw * 2, check=True)
            frames = list(decode_rgb(path))
            img = frames[0][1].astype(np.float64)
            errs = {k: float(np.abs(img - r).max()) for k, r in refs.items()}
            good = len(frames) == 2 and errs[want] <= 1.5 and min(errs, key=errs.get) == want
            ok &= good
            print(f"decode {name:11s}: max |rgb - {want} reference| = {errs[want]:.2f}; "
                  f"vs the other matrix {max(errs.values()):.1f}  {'ok' if good else 'FAIL'}")
        # the comparison itself: identical results give recall 1 and distance 0
        kp = [[10.0 + 3 * k, 20.0 + 5 * k, 0.0, 1.0, 1.0] for k in range(N_LANDMARKS)]
        far = [[p[0] + 500, p[1], 0, 1, 1] for p in kp]
        near = [[p[0] + 1.0, p[1], 0, 1, 1] for p in kp]
        mp_res = {"frames": [{"frame": 0, "person": {"keypoints": kp}},
                             {"frame": 1, "person": {"keypoints": kp}},
                             {"frame": 2, "person": None}]}
        pk = {0: [{"keypoints": far}, {"keypoints": kp}], 1: [{"keypoints": near}], 2: [{"keypoints": kp}]}
        r = compare(mp_res, pk, "image")
        diag = math.hypot(3 * 32, 5 * 32)
        good = (r["recall"] == 1.0 and r["posekit_only_frames"] == 1 and r["distance_max"] == 1.0 / diag
                and r["per_frame"][0]["distance"] == 0.0)
        ok &= good
        print(f"compare: recall {r['recall']}, posekit-only {r['posekit_only_frames']}, "
              f"max distance {r['distance_max']:.5f} (want {1 / diag:.5f})  {'ok' if good else 'FAIL'}")
    print("self-test", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description="Compare posekit's JSONL with MediaPipe's Pose solution.")
    ap.add_argument("video", nargs="?")
    ap.add_argument("posekit", nargs="?", help="posekit's JSON Lines result for VIDEO")
    ap.add_argument("--mode", choices=["image", "video"], default="image")
    ap.add_argument("--frames", type=int, help="compare only the first N frames")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "posekit", "mediapipe"),
                    help="folder for cached MediaPipe results ('' to disable)")
    ap.add_argument("--json", help="also write the report as JSON here")
    ap.add_argument("--sws-flags", default=DEFAULT_SWS_FLAGS, help="ffmpeg scaler flags for YUV->RGB")
    ap.add_argument("--export-jsonl", help="write MediaPipe's result in posekit's JSONL format and stop")
    ap.add_argument("--self-test", action="store_true", help="check the decoder and the comparison")
    ap.add_argument("--model-complexity", type=int, choices=[0, 1, 2], default=1,
                    help="MediaPipe's landmark model: 0 lite, 1 full, 2 heavy (posekit's "
                         "--landmark-model lite|full|heavy)")
    args = ap.parse_args()

    if args.self_test:
        return self_test()
    if not args.video or not (args.posekit or args.export_jsonl):
        ap.print_usage(sys.stderr)
        eprint("need VIDEO and POSEKIT.jsonl (or --export-jsonl OUT)")
        return 2
    if not os.path.isfile(args.video):
        eprint(f"no such video: {args.video}")
        return 2

    mp_res = mediapipe_results(args.video, args.mode, args.frames, args.cache or None, args.sws_flags,
                               complexity=args.model_complexity)
    if args.export_jsonl:
        export_jsonl(mp_res, args.video, args.export_jsonl)
        n = sum(r["person"] is not None for r in mp_res["frames"])
        print(f"wrote {args.export_jsonl}: {len(mp_res['frames'])} frames, {n} with a person ({args.mode} mode)")
        if not args.posekit:
            return 0
    if not os.path.isfile(args.posekit):
        eprint(f"no such file: {args.posekit}")
        return 2
    _, pk_frames = load_posekit(args.posekit)
    r = compare(mp_res, pk_frames, args.mode)
    report(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
            f.write("\n")
    return 0 if r["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
