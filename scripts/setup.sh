#!/usr/bin/env bash
# posekit setup: everything `make demo` and `make test` need, installed once.
#
# Idempotent and quiet the second time: each step checks before it acts, downloads go
# to a cache, nothing is fetched twice.
#   1. system packages (FFmpeg development libraries, clang for bindgen, pkg-config; with
#      --with-test-tools also the ffmpeg tool, slurm-wlm and munge)
#   2. ONNX Runtime's shared library, taken from the onnxruntime PyPI wheel
#   3. the Sports2D demo clip, taken from the sports2d PyPI wheel
# Usage: scripts/setup.sh [--with-test-tools]
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
    local found
    found=$(ls "$dir"/"${name}"-"${version}"-*.whl 2>/dev/null | head -n1 || true)
    if [[ -z "$found" ]]; then
        say "downloading $spec"
        "$PYTHON" -m pip download --quiet --no-deps "$@" -d "$dir" "$spec" >&2
        found=$(ls "$dir"/"${name}"-"${version}"-*.whl | head -n1)
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

system_packages "${1:-}"
onnx_runtime
demo_clip
[[ "${1:-}" == "--with-test-tools" ]] && test_python
exit 0
