#!/usr/bin/env bash
# Memory of `posekit serve --hmr2` across video jobs: the resident memory once the
# service is up, against its peak after N jobs. Every job must use the one copy of the
# HMR2 weights the pose workers hold, so the peak should stay near the first figure.
#
# Usage: scripts/serve_hmr2_memory.sh POSEKIT_BIN HMR2.onnx CLIP [JOBS]
#   HMR2.onnx  e.g. the 2.69 GB random-weight proxy: scripts/make_hmr2_proxy.py OUT.onnx
#   CLIP       a short video (HMR2 takes about 2 s per person on a 2-core CPU)
#   JOBS       video jobs, one after the other (default 2)
# Prints one JSON object: rss_up_mib, peak_up_mib, peak_after_mib, ratio (peak after ÷
# RSS up). Needs curl and python3. Binds 127.0.0.1 on a free port; stops only the
# service it started, by its PID.
set -euo pipefail
if [ $# -lt 3 ]; then sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
bin=$1 model=$2 clip=$3 jobs=${4:-2}
for f in "$bin" "$model" "$clip"; do
  [ -e "$f" ] || { echo "serve_hmr2_memory: $f does not exist" >&2; exit 2; }
done
log=$(mktemp)
"$bin" serve --host 127.0.0.1 --port 0 --workers 1 --hmr2 "$model" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
addr=
for _ in $(seq 1200); do
  addr=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //' || true)
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$addr" ] || { echo "serve_hmr2_memory: the service never said where it listens" >&2; exit 1; }
curl -sf "$addr/health" >/dev/null
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; }
rss_up=$(kib VmRSS) peak_up=$(kib VmHWM)
for _ in $(seq "$jobs"); do
  id=$(curl -sf -H 'Content-Type: video/mp4' --data-binary @"$clip" "$addr/v1/jobs" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  until curl -sf "$addr/v1/jobs/$id" | python3 -c '
import json, sys
status = json.load(sys.stdin)["status"]
if status in ("failed", "cancelled"):
    sys.exit(f"job ended {status}")
sys.exit(0 if status == "done" else 1)'; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 1
  done
done
peak_after=$(kib VmHWM)
python3 - "$rss_up" "$peak_up" "$peak_after" "$jobs" <<'PY'
import json, sys
rss_up, peak_up, peak_after, jobs = (int(v) for v in sys.argv[1:])
mib = lambda k: round(k / 1024, 1)
print(json.dumps({"jobs": jobs, "rss_up_mib": mib(rss_up), "peak_up_mib": mib(peak_up),
                  "peak_after_mib": mib(peak_after), "ratio": round(peak_after / rss_up, 3)}))
PY
