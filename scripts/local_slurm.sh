#!/usr/bin/env bash
# A real single-node Slurm in one folder, for posekit's cluster test and for trying the
# templates/slurm-array.sh job on one machine. Nothing outside DIR is written: the munge
# key, the daemons' state, spool, logs and PID files all live there, and the daemons talk
# over 127.0.0.1 on ports picked free at start.
#
#   scripts/local_slurm.sh start DIR   # starts munged, slurmctld, slurmd; waits for the node
#   export SLURM_CONF=DIR/slurm.conf   # then sbatch, squeue, scancel, sinfo use it
#   scripts/local_slurm.sh stop DIR    # stops exactly the daemons it started, by PID
#
# Needs Debian's slurm-wlm and munge (scripts/setup.sh --with-test-tools installs them).
# Written for Slurm 22.05 without systemd: proctrack/linuxproc, task/none, cons_tres with
# CR_CPU, no accounting. The node's CPUs and memory are what `slurmd -C` reports.
set -euo pipefail

say() { printf 'local_slurm: %s\n' "$*" >&2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local dir
    dir=$(realpath "$1")
    for tool in munged mungekey slurmctld slurmd sinfo; do
        command -v "$tool" >/dev/null || { say "$tool not found (install slurm-wlm and munge)"; exit 3; }
    done
    mkdir -p "$dir"/{munge,state,spool,log,run}
    chmod 700 "$dir" "$dir/munge"
    mungekey --create --keyfile="$dir/munge/munge.key" --force
    chmod 600 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed"

    local host cpus memory
    host=$(hostname -s)
    read -r cpus memory < <(slurmd -C | awk '/^NodeName/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["CPUs"], v["RealMemory"] }')
    cat >"$dir/slurm.conf" <<CONF
ClusterName=posekit-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 1 60); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
            say "node $host idle ($cpus CPUs); export SLURM_CONF=$SLURM_CONF"
            return 0
        fi
        sleep 0.5
    done
    say "the node did not become idle in 30 s; see $dir/log"
    sinfo >&2 || true
    exit 4
}

stop() {
    local dir
    dir=$(realpath "$1")
    for daemon in slurmd slurmctld munged; do
        local file="$dir/run/$daemon.pid"
        [[ -f "$file" ]] || continue
        local pid
        pid=$(cat "$file")
        # Only the process this folder started: its command line names this folder's files.
        if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$daemon"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$file"
    done
}

case "${1:-}" in
    start) start "${2:?usage: $0 start DIR}" ;;
    stop) stop "${2:?usage: $0 stop DIR}" ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
