#!/usr/bin/env bash
# The GPU check, in one short run on a machine with an NVIDIA GPU (docs/gpu.md):
#   1. `posekit doctor --check gpu` with the GPU build;
#   2. `posekit process --hmr2 PROXY --device cuda` end to end on the test clip;
#   3. HMR2's per-crop throughput at --hmr2-batch 1, 2, 4, 8, 16, fp32 and fp16 on CUDA,
#      and fp32 on the CPU, in the same run: crops per second of HMR2 stage time
#      (summary `persons` / `stages.hmr2_s`), model loading excluded.
# Every figure goes to OUT (Markdown) and OUT.jsonl (the raw summaries); nothing else
# is written outside a scratch folder.
#
#   scripts/gpu_check.sh OUT.md
#
# Env (each found by itself when unset):
#   POSEKIT   the binary (target/release/posekit)
#   ORT_GPU   the GPU build's libonnxruntime.so ($DATA_DIR/onnxruntime-gpu from
#             `make setup-gpu`, else a Python onnxruntime-gpu package's, with its nvidia
#             libraries found through that Python)
#   PROXY     the fp32 HMR2-size proxy; else made with scripts/make_hmr2_proxy.py (needs
#             a Python with onnx and numpy; 30 s, 2.7 GB under the scratch folder)
#   PROXY16   its fp16 conversion; else made with scripts/convert_hmr2_fp16.py (needs
#             onnxruntime too; skipped when it cannot be made)
#   FRAMES    frames per CUDA run (60); CPU_FRAMES (8); BATCHES ("1 2 4 8 16")
set -uo pipefail

out=${1:?usage: $0 OUT.md}
posekit=${POSEKIT:-target/release/posekit}
frames=${FRAMES:-60}
cpu_frames=${CPU_FRAMES:-8}
batches=${BATCHES:-1 2 4 8 16}
clip=tests/data/sports2d_clip.webm
python=${PYTHON:-python3}
data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/posekit"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
raw="$out.jsonl"
: >"$out"
: >"$raw"

note() { printf '%s\n' "$*" | tee -a "$out" >&2; }

note "# posekit GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note ""
note '```'
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$out" >&2
nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | tee -a "$out" >&2
note '```'

# The GPU build: posekit's data directory, else a Python onnxruntime-gpu.
if [[ -z "${ORT_GPU:-}" && -f "$data_dir/onnxruntime-gpu/libonnxruntime.so" ]]; then
    ORT_GPU="$data_dir/onnxruntime-gpu/libonnxruntime.so"
fi
if [[ -z "${ORT_GPU:-}" ]]; then
    capi=$("$python" -c 'import importlib.util as u; s = u.find_spec("onnxruntime"); print(s.submodule_search_locations[0] + "/capi" if s else "")' 2>/dev/null)
    lib=$(ls "$capi"/libonnxruntime.so.* 2>/dev/null | head -n1)
    if [[ -n "$lib" && -f "$capi/libonnxruntime_providers_cuda.so" ]]; then
        # posekit preloads the folder `cuda/` beside the library: gather the wheel's
        # nvidia libraries there, in the scratch folder.
        mkdir -p "$scratch/ort-gpu/cuda"
        ln -s "$lib" "$scratch/ort-gpu/libonnxruntime.so"
        ln -s "$capi"/libonnxruntime_providers_*.so "$scratch/ort-gpu/"
        site=$(dirname "$(dirname "$capi")")
        find "$site/nvidia" -path '*/lib/*.so*' -exec ln -sf {} "$scratch/ort-gpu/cuda/" \; 2>/dev/null
        ORT_GPU="$scratch/ort-gpu/libonnxruntime.so"
    fi
fi
if [[ -z "${ORT_GPU:-}" ]]; then
    note ""
    note "No GPU build of ONNX Runtime on this machine (no \`make setup-gpu\`, no Python onnxruntime-gpu): stopped."
    exit 1
fi
note ""
note "GPU build: $ORT_GPU"

note ""
note "## doctor --check gpu"
note '```'
"$posekit" doctor --check gpu --ort-lib "$ORT_GPU" 2>&1 | tee -a "$out" >&2
note '```'

if [[ -z "${PROXY:-}" ]]; then
    PROXY="$scratch/proxy/hmr2-proxy.onnx"
    "$python" scripts/make_hmr2_proxy.py "$PROXY" >&2 || { note "could not make the proxy (needs onnx and numpy): stopped"; exit 1; }
fi
if [[ -z "${PROXY16:-}" ]]; then
    PROXY16="$scratch/proxy/hmr2-proxy.fp16.onnx"
    "$python" scripts/convert_hmr2_fp16.py --any-version "$PROXY" "$PROXY16" >&2 || PROXY16=""
fi

# One process run; appends its summary (with the settings) to the raw file and prints
# "crops/s fps hmr2_device".
run() {
    local model=$1 device=$2 batch=$3 n=$4 label=$5
    local result="$scratch/run.jsonl"
    local line
    : >"$scratch/stderr"
    line=$("$posekit" process "$clip" --hmr2 "$model" --device "$device" --hmr2-batch "$batch" \
        --ort-lib "$ORT_GPU" --max-frames "$n" --workers 1 -o "$result" --overwrite --force --json 2>>"$scratch/stderr")
    if [[ -z "$line" ]]; then
        echo "failed: $(grep -m1 'error' "$scratch/stderr" | cut -c1-300) | | | | |"
        return
    fi
    printf '{"label":"%s","batch":%s,"run":%s}\n' "$label" "$batch" "$line" >>"$raw"
    "$python" -c '
import json, sys
s = json.loads(sys.argv[1])["summary"]
crops = s["persons"] / s["stages"]["hmr2_s"] if s["stages"]["hmr2_s"] else 0
print("{:.2f} | {:.2f} | {} | {} | {:.0f}".format(crops, s["fps"], s.get("hmr2_device"), s["persons"], s["peak_rss_mib"]))
' "$line"
}

note ""
note "## process --hmr2 --device cuda, end to end ($frames frames)"
note ""
note "| model | device | batch | HMR2 crops/s | pipeline fps | ran on | crops | peak RSS MiB |"
note "|---|---|---|---|---|---|---|---|"
for batch in $batches; do
    note "| fp32 | cuda | $batch | $(run "$PROXY" cuda "$batch" "$frames" fp32-cuda) |"
done
if [[ -n "$PROXY16" ]]; then
    for batch in $batches; do
        note "| fp16 | cuda | $batch | $(run "$PROXY16" cuda "$batch" "$frames" fp16-cuda) |"
    done
else
    note "| fp16 | cuda | — | not measured: the fp16 model could not be made here | | | | |"
fi
note "| fp32 | cpu | 1 | $(run "$PROXY" cpu 1 "$cpu_frames" fp32-cpu) |"
note ""
note "HMR2 crops/s: persons / HMR2 stage seconds (the stage includes cropping and waiting"
note "for the shared session). Raw summaries: $raw."
