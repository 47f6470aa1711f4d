#!/bin/bash
# posekit over a manifest as a Slurm job array: each array task takes one shard of the
# sorted input list, skips what is already complete, and appends to its own report.
#
#   sbatch --array=0-7 templates/slurm-array.sh videos.txt results 8
#   posekit status --manifest videos.txt --out-dir results --shards 8 --report results/reports/*.jsonl
#   sbatch --array=3,5 templates/slurm-array.sh videos.txt results 8    # what status listed
#
# Arguments: MANIFEST (one video path per line, relative to its own folder), OUT (the
# results folder, mirroring the manifest's paths) and SHARDS, the shard count (the N of
# the first --array=0-(N-1)). Give SHARDS when resubmitting some tasks only: Slurm then
# counts just the tasks resubmitted. Set POSEKIT to the binary if it is not on PATH.
#
# posekit uses --cpus-per-task workers by default (SLURM_CPUS_PER_TASK). Its memory is
# about 0.5 GB for BlazePose; add 3 GB with --hmr2 (one copy of the weights per task).
#SBATCH --job-name=posekit
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=posekit-%A_%a.log
set -euo pipefail

MANIFEST=${1:?usage: sbatch --array=0-(N-1) slurm-array.sh MANIFEST OUT [SHARDS]}
OUT=${2:?usage: sbatch --array=0-(N-1) slurm-array.sh MANIFEST OUT [SHARDS]}
SHARDS=${3:-}
POSEKIT=${POSEKIT:-posekit}

mkdir -p "$OUT/reports"
exec "$POSEKIT" process --manifest "$MANIFEST" --out-dir "$OUT" \
    --shard auto ${SHARDS:+--shards "$SHARDS"} \
    --report "$OUT/reports/report-${SLURM_ARRAY_TASK_ID}.jsonl" --json
