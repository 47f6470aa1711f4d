#!/usr/bin/env bash
# Person detectors side by side: for each clip, `posekit process` with --person-detector
# blazepose and movenet, alternating, RUNS times each, in one go; one table row per clip and
# detector: frames with 0, 1, 2 and 3+ people, frames with two people whose boxes are at
# least a third of the frame's height, and the median frames per second of the whole run.
#
#   scripts/compare_detectors.sh [--posekit BIN] [--mode video|image] [--runs R] CLIP [CLIP ...]
#
# Clips used in the README: the four cameras of Pose2Sim's Demo_MultiPerson (PyPI
# pose2sim==0.10.49, Pose2Sim/Demo_MultiPerson/videos/cam0{1..4}.mp4) and the single-person
# clips of scripts/compare_clips.sh.
set -euo pipefail

POSEKIT=target/release/posekit
MODE=video
RUNS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --posekit) POSEKIT=$2; shift 2 ;;
        --mode) MODE=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || { echo "usage: $0 [--posekit BIN] [--mode video|image] [--runs R] CLIP..." >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

printf '| clip | detector | frames | 0 | 1 | 2 | 3+ | two ≥ ⅓ height | fps (median of %s) |\n|---|---|---|---|---|---|---|---|---|\n' "$RUNS"
for clip in "$@"; do
    name=$(basename "$clip")
    for run in $(seq 1 "$RUNS"); do
        for detector in blazepose movenet; do
            "$POSEKIT" process "$clip" --person-detector "$detector" --mode "$MODE" \
                -o "$WORK/$name.$detector.$run.jsonl" --json >"$WORK/$name.$detector.$run.json" 2>/dev/null
        done
    done
    for detector in blazepose movenet; do
        python3 - "$WORK" "$name" "$detector" "$RUNS" <<'PY'
import json, statistics, sys
work, name, detector, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = [json.loads(l) for l in open(f"{work}/{name}.{detector}.1.jsonl")]
height = lines[0]["source"]["height"]
frames = [l for l in lines if l["type"] == "frame"]
hist = [0, 0, 0, 0]
two_big = 0
for f in frames:
    hist[min(len(f["persons"]), 3)] += 1
    big = [p for p in f["persons"] if p["bbox"][3] - p["bbox"][1] >= height / 3]
    two_big += len(big) >= 2
fps = statistics.median(json.load(open(f"{work}/{name}.{detector}.{r}.json"))["summary"]["fps"]
                        for r in range(1, runs + 1))
n = len(frames)
print(f"| {name} | {detector} | {n} | {hist[0]} | {hist[1]} | {hist[2]} | {hist[3]} | "
      f"{two_big} ({100 * two_big / n:.0f}%) | {fps:.1f} |")
PY
    done
done
