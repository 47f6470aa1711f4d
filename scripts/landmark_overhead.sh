#!/usr/bin/env bash
# The landmark stage's cost per person in `posekit process` against the bare landmark
# model in ONNX Runtime, alternating in one run (see scripts/landmark_overhead.py).
#
# Usage: scripts/landmark_overhead.sh [CLIP] [--runs N] [--calls N]
#   CLIP   default: the Sports2D demo clip setup installs
# Needs `make setup` (ONNX Runtime's wheel in the cache) and target/release/posekit (or
# $POSEKIT). Makes ${XDG_CACHE_HOME:-~/.cache}/posekit/ort-venv on first use, from the same
# onnxruntime wheel setup installed the library from, so both sides run one release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/posekit
data=${XDG_DATA_HOME:-$HOME/.local/share}/posekit
die() { echo "landmark_overhead: $*" >&2; exit 1; }

clip=$data/demo/sports2d-demo.mp4
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then clip=$1; shift; fi
posekit=${POSEKIT:-$root/target/release/posekit}
[ -x "$posekit" ] || die "no posekit binary at $posekit (cargo build --release, or set POSEKIT)"
[ -f "$clip" ] || die "no clip at $clip (make setup installs the demo clip)"

venv=$cache/ort-venv
if [ ! -x "$venv/bin/python" ]; then
  wheel=$(ls "$cache"/wheels/onnxruntime-*.whl 2>/dev/null | head -1)
  [ -n "$wheel" ] || die "no onnxruntime wheel in $cache/wheels (run make setup first)"
  echo "landmark_overhead: making $venv (once)" >&2
  python3 -m venv "$venv" || die "could not make a venv (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet "$wheel" "numpy<3" || { rm -rf "$venv"; die "pip failed"; }
fi
exec "$venv/bin/python" "$here/landmark_overhead.py" "$posekit" "$clip" \
  "$root/models/pose_landmark_full.onnx" "$@"
