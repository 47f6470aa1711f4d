#!/usr/bin/env bash
# Time MediaPipe's own Python Pose solution against `posekit process`, whole command, per clip.
#
# Usage:
#   scripts/speed_vs_mediapipe.sh [options] CLIP[:FRAMES] [CLIP[:FRAMES] ...]
#     :FRAMES        time only the first FRAMES frames on both sides (e.g. vtest.avi:200)
#     --posekit [LABEL=]PATH  the binary (default: $POSEKIT, else target/release/posekit);
#                    repeat with labels to time an old and a new binary in the same run
#     --workers LIST posekit worker settings (default "default,1": no flag, then --workers 1)
#     --runs N       timed runs of each command per clip (default 3), alternating between them
#     --warmup N     untimed runs of each command first (default 1)
#     --json PATH    also write the results as JSON ('-': JSON on stdout instead of tables)
#
# What is timed, each as a separate process so that start-up counts on both sides:
#   MediaPipe  mediapipe==0.10.14, Pose(static_image_mode=False, model_complexity=1,
#              smooth_landmarks=False), frames decoded to RGB with PyAV, process() on each;
#   posekit    posekit process CLIP --mode video -o TMP --overwrite --force [--workers N].
# The table gives the median wall seconds, the speed-up (MediaPipe's median / posekit's) and the
# median CPU seconds (user + system, all threads), which other load on the machine moves less.
# Both sides track people (MediaPipe one, posekit up to --max-people 4).
#
# The MediaPipe venv is made on first use in ${XDG_CACHE_HOME:-~/.cache}/posekit/mediapipe-venv
# (pinned: mediapipe==0.10.14, numpy<2, av), with the first of python3.11, 3.12, 3.10, 3.9
# found (MediaPipe 0.10.14 has wheels for 3.8-3.12), or $VENV_PYTHON.
#
# Example:
#   scripts/speed_vs_mediapipe.sh --posekit before=/tmp/posekit-before \
#     --posekit after=target/release/posekit demo.mp4 vtest.avi:200 bikes.mp4 g1.avi
# Exit status: 0 when every run finished, 1 when a command failed or something is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit $(( $# < 1 ? 1 : 0 ))
fi

die() { echo "speed_vs_mediapipe: $*" >&2; exit 1; }

# Sets $py to the MediaPipe venv's Python, making the venv on first use.
source "$here/mediapipe_venv.sh"

exec "$py" "$here/speed_vs_mediapipe.py" "$@"
