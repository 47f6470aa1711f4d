# Sourced by scripts/speed_vs_mediapipe.sh and scripts/jitter.sh (which define die()):
# sets $py to the Python of the MediaPipe venv in ${XDG_CACHE_HOME:-~/.cache}/posekit/
# mediapipe-venv, making it on first use (pinned: mediapipe==0.10.14, numpy<2, av) with
# the first of python3.11, 3.12, 3.10, 3.9 found, or $VENV_PYTHON.

cache=${XDG_CACHE_HOME:-$HOME/.cache}/posekit
venv=$cache/mediapipe-venv
py=$venv/bin/python
# Pinned: the MediaPipe release posekit's models come from, and the numpy its wheels are
# built against (MediaPipe 0.10.14 breaks on numpy 2).
pins=("mediapipe==0.10.14" "numpy<2" "av")
check='import av, numpy, mediapipe; assert mediapipe.__version__ == "0.10.14", mediapipe.__version__'

if [ ! -x "$py" ]; then
  base=${VENV_PYTHON:-}
  if [ -z "$base" ]; then
    for cand in python3.11 python3.12 python3.10 python3.9; do
      if command -v "$cand" >/dev/null 2>&1; then base=$cand; break; fi
    done
  fi
  [ -n "$base" ] || die "no Python 3.9-3.12 found to make the MediaPipe venv; install one or set VENV_PYTHON"
  echo "posekit: making $venv with $base (once)" >&2
  mkdir -p "$cache"
  "$base" -m venv "$venv" || die "could not make a venv with $base (on Debian: apt-get install python3-venv)"
  if ! "$py" -m pip install --quiet "${pins[@]}"; then
    rm -rf "$venv"
    die "pip could not install ${pins[*]} into $venv (offline? see the pip error above)"
  fi
fi
"$py" -c "$check" 2>/dev/null \
  || die "$venv lacks ${pins[*]} (or has another mediapipe); remove it and run again to rebuild it"

