#!/usr/bin/env bash
# posekit setup: everything `make demo` and `make test` need, installed once.
#
# Idempotent and quiet the second time: each step checks before it acts, downloads go
# to a cache, nothing is fetched twice.
#   1. system packages (FFmpeg development libraries, clang for bindgen, pkg-config; with
#      --with-test-tools also the ffmpeg tool, slurm-wlm and munge)
#   2. ONNX Runtime's shared library, taken from the onnxruntime PyPI wheel
#   3. the Sports2D demo clip, taken from the sports2d PyPI wheel
#   4. with --with-test-tools: a numpy venv (the .npz read-back) and a Pose2Sim venv
#      (the OpenPose export checked by Pose2Sim's own triangulation)
#   --gpu: 4. the GPU build of ONNX Runtime (onnxruntime-gpu wheel) and the CUDA 13 and
#      cuDNN 9 libraries its `cuda` and `cudnn` extras declare (NVIDIA's wheels), into
#      $DATA_DIR/onnxruntime-gpu, beside the CPU build (never over it); with TENSORRT=1
#      also TensorRT's libraries, the major version its provider's NEEDED entries name.
#      About 3 GB. posekit preloads these libraries itself (docs/gpu.md).
# Usage: scripts/setup.sh [--with-test-tools | --gpu]
set -euo pipefail

ORT_VERSION=1.31.1
SPORTS2D_VERSION=0.8.34
DATA_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/posekit"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/posekit"
PYTHON="${PYTHON:-python3}"

say() { printf 'setup: %s\n' "$*" >&2; }

system_packages() {
    local wanted=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev
        libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev)
    # The ffmpeg command line tool makes synthetic clips for the tests; Slurm and munge
    # run the cluster test's single-node Slurm (scripts/local_slurm.sh).
    [[ "${1:-}" == "--with-test-tools" ]] && wanted+=(ffmpeg slurm-wlm munge)
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    say "installing system packages: ${missing[*]}"
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Downloads one wheel into the cache (once) and prints its path.
fetch_wheel() {
    local spec=$1 dir="$CACHE_DIR/wheels"
    shift
    mkdir -p "$dir"
    local name=${spec%%==*} version=${spec##*==}
    # Wheel file names spell `-` in a project name as `_`.
    local file=${name//-/_}
    local found
    found=$(ls "$dir"/"${file}"-"${version}"-*.whl 2>/dev/null | head -n1 || true)
    if [[ -z "$found" ]]; then
        say "downloading $spec"
        "$PYTHON" -m pip download --quiet --no-deps "$@" -d "$dir" "$spec" >&2
        found=$(ls "$dir"/"${file}"-"${version}"-*.whl | head -n1)
    fi
    printf '%s\n' "$found"
}

# Copies one member of a wheel (a zip) to a destination, atomically.
extract_member() {
    local wheel=$1 member=$2 dest=$3
    mkdir -p "$(dirname "$dest")"
    "$PYTHON" - "$wheel" "$member" "$dest" <<'PY'
import os, shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
tmp = dest + ".tmp"
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(tmp, "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(tmp, dest)
PY
}

onnx_runtime() {
    local dest="$DATA_DIR/onnxruntime/libonnxruntime.so"
    [[ -f "$dest" ]] && return
    local wheel
    wheel=$(fetch_wheel "onnxruntime==$ORT_VERSION" --only-binary=:all: \
        --python-version 3.11 --platform manylinux_2_28_x86_64)
    extract_member "$wheel" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$dest"
    say "ONNX Runtime $ORT_VERSION installed at $dest"
}

# Copies every shared library under `nvidia/*/lib/` of a wheel into one folder.
extract_libraries() {
    local wheel=$1 dest=$2
    mkdir -p "$dest"
    "$PYTHON" - "$wheel" "$dest" <<'PY'
import os, re, shutil, sys, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for member in z.namelist():
        name = os.path.basename(member)
        if not re.match(r"nvidia/.+/lib/[^/]+\.so(\.[0-9.]+)?$", member) and not re.match(r"tensorrt_libs/[^/]+\.so(\.[0-9.]+)?$", member):
            continue
        target = os.path.join(dest, name)
        with z.open(member) as src, open(target + ".tmp", "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(target + ".tmp", target)
        print(name)
PY
}

# name==version of each nvidia-* (or other `prefix`) package pip would install for `spec`,
# read from `pip install --dry-run --report` rather than from a list kept here.
resolved() {
    local spec=$1 prefix=$2 report
    report=$(mktemp)
    "$PYTHON" -m pip install --dry-run --quiet --ignore-installed --only-binary=:all: \
        --report "$report" "$spec" >&2
    "$PYTHON" - "$report" "$prefix" <<'PY'
import json, sys
report, prefix = sys.argv[1:]
for item in json.load(open(report))["install"]:
    meta = item["metadata"]
    if meta["name"].lower().startswith(prefix):
        print(f"{meta['name']}=={meta['version']}")
PY
    rm -f "$report"
}

# The NEEDED entries of a shared library (readelf from binutils).
needed() {
    readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

gpu_runtime() {
    local dir="$DATA_DIR/onnxruntime-gpu" done_mark
    done_mark="$dir/.complete-$ORT_VERSION${TENSORRT:+-tensorrt}"
    [[ -f "$done_mark" ]] && return
    local wheel
    wheel=$(fetch_wheel "onnxruntime-gpu==$ORT_VERSION" --only-binary=:all: \
        --python-version 3.11 --platform manylinux_2_28_x86_64)
    extract_member "$wheel" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so"
    # ONNX Runtime opens its providers from the folder that holds libonnxruntime.so.
    for provider in shared cuda tensorrt; do
        extract_member "$wheel" "onnxruntime/capi/libonnxruntime_providers_$provider.so" \
            "$dir/libonnxruntime_providers_$provider.so"
    done
    local spec
    for spec in $(resolved "onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION" nvidia-); do
        extract_libraries "$(fetch_wheel "$spec" --only-binary=:all:)" "$dir/cuda" >/dev/null
    done
    if [[ -n "${TENSORRT:-}" ]]; then
        local major
        major=$(needed "$dir/libonnxruntime_providers_tensorrt.so" | sed -n 's/^libnvinfer\.so\.\([0-9]*\).*/\1/p' | head -n1)
        [[ -n "$major" ]] || { say "cannot read libnvinfer's version from the TensorRT provider (is readelf installed?)"; exit 1; }
        for spec in $(resolved "tensorrt-cu13-libs~=$major.0" tensorrt-cu13-libs); do
            extract_libraries "$(fetch_wheel "$spec" --only-binary=:all:)" "$dir/cuda" >/dev/null
        done
    fi
    report_needed "$dir"
    touch "$done_mark"
    say "GPU build of ONNX Runtime $ORT_VERSION at $dir/libonnxruntime.so (CUDA and cuDNN in $dir/cuda)"
    say "use it: posekit process VIDEO --hmr2 MODEL --device cuda (it is found there), or --ort-lib $dir/libonnxruntime.so"
}

# Says which NEEDED entries of the CUDA (and TensorRT) provider, and of what they pull in,
# are not in the GPU folder: the system must provide those (libcuda.so.1 is the driver's).
report_needed() {
    local dir=$1 lib dep
    command -v readelf >/dev/null || { say "readelf not found (binutils): NEEDED entries not checked"; return; }
    local providers=("$dir/libonnxruntime_providers_cuda.so")
    [[ -n "${TENSORRT:-}" ]] && providers+=("$dir/libonnxruntime_providers_tensorrt.so")
    for lib in "${providers[@]}" "$dir"/cuda/*.so*; do
        for dep in $(needed "$lib"); do
            [[ -e "$dir/$dep" || -e "$dir/cuda/$dep" ]] && continue
            case "$dep" in
                libc.so.*|libm.so.*|libdl.so.*|librt.so.*|libpthread.so.*|libstdc++.so.*|libgcc_s.so.*|ld-linux*|libz.so.*) ;;
                *) printf '%s\n' "$dep" ;;
            esac
        done
    done | sort -u | while read -r dep; do
        say "from the system: $dep$([[ $dep == libcuda.so.* ]] && echo ' (the NVIDIA driver)')"
    done
}

demo_clip() {
    local dest="$DATA_DIR/demo/sports2d-demo.mp4"
    [[ -f "$dest" ]] && return
    local wheel
    wheel=$(fetch_wheel "sports2d==$SPORTS2D_VERSION")
    extract_member "$wheel" "Sports2D/Demo/demo.mp4" "$dest"
    say "demo clip (Sports2D $SPORTS2D_VERSION, BSD-3-Clause) at $dest"
}

# A small venv with numpy, so the tests can read posekit's .npz files back with NumPy.
test_python() {
    local venv="$CACHE_DIR/test-venv"
    [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import numpy" 2>/dev/null && return
    say "creating $venv with numpy (for the .npz read-back test)"
    if ! { "$PYTHON" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet numpy; } >&2; then
        say "could not create $venv; the .npz read-back test will be skipped"
    fi
}

if [[ "${1:-}" == "--gpu" ]]; then
    gpu_runtime
    exit 0
fi
# A venv with Pose2Sim, so tests/pose2sim.rs can run Pose2Sim's own triangulation on
# posekit's OpenPose export (scripts/pose2sim_check.sh). About 0.8 GB.
pose2sim_python() {
    local venv="$CACHE_DIR/pose2sim-venv"
    [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import Pose2Sim, cv2, pandas" 2>/dev/null && return
    say "creating $venv with pose2sim 0.10.49 (for the Pose2Sim check)"
    local here
    here="$(cd "$(dirname "$0")" && pwd)"
    if ! { "$PYTHON" -m venv "$venv" &&
           "$venv/bin/pip" install --quiet --no-deps pose2sim==0.10.49 &&
           "$venv/bin/pip" install --quiet --no-warn-conflicts -r "$here/requirements-pose2sim.txt"; } >&2; then
        say "could not create $venv; the Pose2Sim check will be skipped"
    fi
}

system_packages "${1:-}"
onnx_runtime
demo_clip
[[ "${1:-}" == "--with-test-tools" ]] && test_python && pose2sim_python
exit 0
