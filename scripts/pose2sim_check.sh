#!/usr/bin/env bash
# Checks posekit's OpenPose export against Pose2Sim itself: posekit on the four cameras of
# Pose2Sim's Demo_SinglePerson, `posekit export --to openpose` into its pose/ folder, then
# Pose2Sim's own calibration conversion (Qualisys), person association and triangulation
# with pose_model = 'BLAZEPOSE'. Prints Pose2Sim's mean reprojection error.
#
#   scripts/pose2sim_check.sh [WORKDIR]      (default: a new folder under /tmp)
#
# Builds its own venv in WORKDIR (PyPI pose2sim==0.10.49 without its heavy optional stack,
# plus scripts/requirements-pose2sim.txt), or uses the one POSE2SIM_VENV names (setup.sh
# --with-test-tools makes it, for tests/pose2sim.rs). When the venv cannot be built it says
# "skipped" and exits 0 without claiming anything. Needs target/release/posekit (`cargo build
# --release`). Pose2Sim is BSD-3-Clause; its demo data comes from its wheel.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
posekit="${POSEKIT:-$here/target/release/posekit}"
work="${1:-$(mktemp -d /tmp/pose2sim-check.XXXXXX)}"
venv="${POSE2SIM_VENV:-$work/venv}"
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
  if ! { python3 -m venv "$venv" &&
         "$venv/bin/pip" install -q pose2sim==0.10.49 --no-deps &&
         "$venv/bin/pip" install -q --no-warn-conflicts -r "$here/scripts/requirements-pose2sim.txt"; }; then
    echo "skipped: could not build a venv with pose2sim (no package registry?)"
    exit 0
  fi
fi
demo_src="$("$venv/bin/python" -c 'import Pose2Sim, os; print(os.path.join(os.path.dirname(Pose2Sim.__file__), "Demo_SinglePerson"))')"
demo="$work/Demo_SinglePerson"
rm -rf "$demo"
cp -r "$demo_src" "$demo"
cd "$demo"
"$posekit" process videos/cam01.mp4 videos/cam02.mp4 videos/cam03.mp4 videos/cam04.mp4 --out-dir results
for cam in cam01 cam02 cam03 cam04; do
  "$posekit" export "results/videos/$cam.poses.jsonl" --to openpose -o "pose/${cam}_json"
done
# BlazePose's keypoints, and nothing that opens a window.
sed -i "s/^pose_model = .*/pose_model = 'BLAZEPOSE'/; s/^display_detection = true/display_detection = false/;
        s/^display_sync_plots = true/display_sync_plots = false/; s/^display_figures = true/display_figures = false/;
        s/^make_c3d = true/make_c3d = false/" Config.toml
MPLBACKEND=Agg "$venv/bin/python" - <<'PY' 2>&1 | tee "$work/pose2sim.log"
from Pose2Sim import Pose2Sim
Pose2Sim.calibration()
Pose2Sim.personAssociation()
Pose2Sim.triangulation()
PY
echo "---"
grep -h "Mean reprojection error for all points" "$work/pose2sim.log" || { echo "no reprojection error in the log"; exit 1; }
