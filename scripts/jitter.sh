#!/usr/bin/env bash
# Jitter of posekit's landmarks with --smooth none, causal and offline, against MediaPipe's
# own smooth_landmarks=False and =True, per clip; and how closely causal follows MediaPipe's
# smoothed landmarks (scripts/jitter.py says how each number is computed).
#
# Usage:
#   scripts/jitter.sh [--posekit PATH] [--workers N] [--json DIR] CLIP[:FRAMES] [CLIP[:FRAMES] ...]
#     :FRAMES      only the first FRAMES frames (e.g. vtest.avi:200)
#     --posekit    the binary (default: $POSEKIT, else target/release/posekit)
#     --workers    posekit's workers (default 1: one worker tracks as MediaPipe does)
#     --json DIR   also write one CLIP.jitter.json per clip there
#
# Uses (and makes on first use) the MediaPipe venv of scripts/speed_vs_mediapipe.sh.
# MediaPipe's results are cached as scripts/compare_mediapipe.py caches them.
#
# Example:
#   scripts/jitter.sh demo.mp4 vtest.avi:200 bikes.mp4 g1.avi
# Exit status: 0 when every clip was measured, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit $(( $# < 1 ? 1 : 0 ))
fi

die() { echo "jitter: $*" >&2; exit 1; }

posekit=${POSEKIT:-target/release/posekit}
workers=1
json=""
clips=()
while [ $# -gt 0 ]; do
  case "$1" in
    --posekit) posekit=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) clips+=("$1"); shift ;;
  esac
done
[ -x "$posekit" ] || die "$posekit is not an executable (build with cargo build --release, or give --posekit)"
[ ${#clips[@]} -gt 0 ] || die "no clip given"

# Sets $py to the MediaPipe venv's Python, making the venv on first use.
source "$here/mediapipe_venv.sh"

status=0
for spec in "${clips[@]}"; do
  clip=${spec%:*}
  frames=()
  if [ "$clip" != "$spec" ]; then frames=(--frames "${spec##*:}"); fi
  out=()
  if [ -n "$json" ]; then mkdir -p "$json"; out=(--json "$json/$(basename "$clip").jitter.json"); fi
  "$py" "$here/jitter.py" "$clip" --posekit "$posekit" --workers "$workers" "${frames[@]}" "${out[@]}" \
    2> >(grep -v -e 'mediapipe video:' -e 'W0000' -e 'INFO:' -e 'WARNING: All log' -e 'UserWarning' -e 'warnings.warn' >&2) \
    || { echo "jitter: $clip failed" >&2; status=1; }
done
exit $status
