#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on localhost, for the Slurm tests and for trying the scripts that
# 'ecsmem sweep --slurm' writes. Everything (munge key and socket, slurm.conf, state, spool, logs, pid files)
# lives in DIR; the daemons listen on non-default ports, so a real cluster's configuration is never touched.
#
#   tests/slurm/cluster.sh start DIR   # munged, slurmctld, slurmd; waits until the node is idle
#   tests/slurm/cluster.sh stop DIR    # stops all three (also after a failed start), leaves DIR
#   tests/slurm/cluster.sh env DIR     # prints the export line for sbatch/squeue/scontrol (SLURM_CONF)
#
# Needs root (slurmd runs jobs as their submitting user) and Debian's packages: apt-get install -y slurm-wlm munge.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|env DIR" >&2; exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ctld_port=${ECSMEM_SLURMCTLD_PORT:-16817}
slurmd_port=${ECSMEM_SLURMD_PORT:-16818}

stop_pidfile() { # stop_pidfile FILE NAME: SIGTERM, then SIGKILL after 10 s, only the process the file names
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  rm -f "$f"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  # slurmd first: it ends the job steps (slurmstepd) it started; then the controller; munged last.
  stop_pidfile "$dir/run/slurmd.pid"
  stop_pidfile "$dir/run/slurmctld.pid"
  stop_pidfile "$dir/run/munged.pid"
  # slurmstepd processes of this cluster's jobs outlive a killed slurmd: end those whose spool is ours.
  for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$dir" ||
       grep -qs -- "$dir" "/proc/$p/environ"; then
      kill -9 "$p" 2>/dev/null || true
    fi
  done
}

case "$cmd" in
  stop)
    stop; exit 0 ;;
  env)
    echo "export SLURM_CONF='$dir/slurm.conf'"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop|env DIR" >&2; exit 2 ;;
esac

for b in munged slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null || { echo "$0: $b not found: apt-get install -y slurm-wlm munge" >&2; exit 3; }
done
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "$0: start failed; logs in $dir/log" >&2; stop; fi' EXIT

mkdir -p "$dir"/{munge,state,spool,log,run}
chmod 700 "$dir/munge"
if [ ! -f "$dir/munge/munge.key" ]; then
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
fi
# --force: munged refuses to run as root, and DIR may sit under a world-writable /tmp.
munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat > "$dir/slurm.conf" <<CONF
# Written by tests/slurm/cluster.sh: one node, state and logs under $dir.
ClusterName=ecsmemtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
KillWait=5
MinJobAge=600
SlurmdTimeout=60
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" -L "$dir/log/slurmctld.log"
slurmd -f "$SLURM_CONF" -L "$dir/log/slurmd.log"

for _ in $(seq 300); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  case "$state" in idle|mixed|allocated) echo "slurm up: $host ($cpus CPUs), SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
  sleep 0.2
done
echo "$0: node never became idle (state '${state:-?}')" >&2
exit 1
