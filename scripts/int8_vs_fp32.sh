#!/usr/bin/env bash
# fp32 against int8 HMR2 on the CPU, in one run: `posekit bench --hmr2` on each model,
# alternating (fp32, int8, fp32, int8, ...) so that other load on the machine falls on
# both alike; then the ratios (int8 fps / fp32 fps, int8 peak / fp32 peak) per layout.
#
#   scripts/int8_vs_fp32.sh FP32.onnx INT8.onnx [OUT_DIR]
#
# Env: CLIP (default tests/data/sports2d_clip.webm), FRAMES (10), ROUNDS (2),
# LAYOUTS (1x1,1x2), POSEKIT (target/release/posekit).
# Each bench run writes OUT_DIR/<precision>-<round>.json; the table goes to stdout and
# OUT_DIR/summary.md. Make the models with scripts/make_hmr2_proxy.py and
# scripts/quantize_hmr2.py (docs/gpu.md).
set -euo pipefail

fp32=${1:?usage: $0 FP32.onnx INT8.onnx [OUT_DIR]}
int8=${2:?usage: $0 FP32.onnx INT8.onnx [OUT_DIR]}
out=${3:-$(mktemp -d)}
clip=${CLIP:-tests/data/sports2d_clip.webm}
frames=${FRAMES:-10}
rounds=${ROUNDS:-2}
layouts=${LAYOUTS:-1x1,1x2}
posekit=${POSEKIT:-target/release/posekit}
mkdir -p "$out"

for round in $(seq 1 "$rounds"); do
  for precision in fp32 int8; do
    model=$fp32
    [ "$precision" = int8 ] && model=$int8
    echo "round $round: $precision ($model)" >&2
    "$posekit" bench "$clip" --hmr2 "$model" --device cpu --frames "$frames" \
      --layouts "$layouts" --runs 1 --warmup 0 --json >"$out/$precision-$round.json"
  done
done

python3 - "$out" "$fp32" "$int8" <<'EOF' | tee "$out/summary.md"
import glob, json, os, statistics, sys

out, fp32, int8 = sys.argv[1:4]

def size(model):
    data = model + ".data"
    return os.path.getsize(model) + (os.path.getsize(data) if os.path.exists(data) else 0)

def runs(precision):
    by_layout = {}
    for path in sorted(glob.glob(f"{out}/{precision}-*.json")):
        for r in json.load(open(path))["results"]:
            key = f"{r['layout']['workers']}x{r['layout']['threads_per_worker']}"
            entry = by_layout.setdefault(key, {"fps": [], "ceiling": [], "peak": []})
            entry["fps"].append(r["fps"]["median"])
            entry["ceiling"].append(r["ceiling_fps"]["median"])
            entry["peak"].append(r["peak_rss_mib"])
    return by_layout

a, b = runs("fp32"), runs("int8")
print(f"model on disk: fp32 {size(fp32)/1e9:.2f} GB, int8 {size(int8)/1e9:.2f} GB "
      f"({size(int8)/size(fp32):.2f}x)\n")
print("| layout | fp32 fps | int8 fps | int8/fp32 fps | fp32 models-only fps | int8 models-only fps | fp32 peak MiB | int8 peak MiB | int8/fp32 peak |")
print("|---|---|---|---|---|---|---|---|---|")
for layout in a:
    fa, fb = statistics.median(a[layout]["fps"]), statistics.median(b[layout]["fps"])
    ca, cb = statistics.median(a[layout]["ceiling"]), statistics.median(b[layout]["ceiling"])
    pa, pb = max(a[layout]["peak"]), max(b[layout]["peak"])
    print(f"| {layout} | {fa:.3f} | {fb:.3f} | {fb/fa:.2f}x | {ca:.3f} | {cb:.3f} | {pa:.0f} | {pb:.0f} | {pb/pa:.2f}x |")
print(f"\nfps: median over {len(a[next(iter(a))]['fps'])} alternating rounds; peak: highest.")
EOF
