#!/usr/bin/env bash
# A throwaway single-node Slurm cluster for the integration tests of
# `padim reproduce --slurm` (cmd/padim/slurm_test.go).
#
#   source scripts/slurm-ci.sh
#   slurm_ci_start            # writes config + munge key under a temp dir, starts
#                             # munged, slurmctld, slurmd as root, waits for an idle node,
#                             # exports SLURM_CONF and PADIM_SLURM=1
#   trap slurm_ci_stop EXIT   # kills the daemons by their pid files
#
# Needs the Debian packages slurm-wlm and munge, and root (slurmd runs jobs
# as their submitting user). It does not change the caller's shell options. Everything lives in $SLURM_CI_DIR (default: a
# new mktemp -d); nothing under /etc is touched. SLURM_CI_PORT (default
# 6817) and SLURM_CI_PORT+1 are the controller and node ports.

slurm_ci_start() {
  SLURM_CI_DIR="${SLURM_CI_DIR:-$(mktemp -d /tmp/padim-slurm.XXXXXX)}"
  export SLURM_CI_DIR
  local d="$SLURM_CI_DIR" port="${SLURM_CI_PORT:-6817}" host mem
  mkdir -p "$d/munge" "$d/spool" "$d/state" "$d/log" && chmod 700 "$d/munge" || return 1
  host="$(hostname -s)"
  # Tell Slurm about less memory than the machine has: the node is shared.
  mem="${SLURM_CI_MEM_MB:-8192}"

  # Munge: its own key, socket and pid file, so an installed munged is not disturbed.
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$d/munge/munge.key" || return 1
  munged --force --key-file="$d/munge/munge.key" --socket="$d/munge/munge.socket" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/log/munged.log" --seed-file="$d/munge/munged.seed" || return 1

  cat >"$d/slurm.conf" <<CONF
ClusterName=padimci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
MaxArraySize=10001
DefMemPerCPU=1024
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  echo "CgroupPlugin=autodetect" >"$d/cgroup.conf"
  export SLURM_CONF="$d/slurm.conf"

  slurmctld -i -f "$SLURM_CONF" || return 1
  slurmd -f "$SLURM_CONF" || return 1

  local i
  for i in $(seq 1 60); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then
      export PADIM_SLURM=1
      echo "slurm-ci: node $host idle (SLURM_CONF=$SLURM_CONF)"
      return 0
    fi
    sleep 1
  done
  echo "slurm-ci: the node did not become idle within 60 s; logs follow" >&2
  tail -n 30 "$d"/log/*.log >&2 || true
  sinfo >&2 || true
  return 1
}

# slurm_ci_stop kills the daemons it started, by pid file, newest first, and
# waits for them to exit. It is safe to call twice or after a failed start.
slurm_ci_stop() {
  local d="${SLURM_CI_DIR:-}" f pid i
  [ -n "$d" ] && [ -d "$d" ] || return 0
  for f in "$d/slurmd.pid" "$d/slurmctld.pid" "$d/munge/munged.pid"; do
    [ -s "$f" ] || continue
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || continue
    for i in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  echo "slurm-ci: stopped (logs in $d/log)"
}

# Run directly: start, show the node, stop (a smoke test of this script).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap slurm_ci_stop EXIT
  slurm_ci_start
  sinfo
  sbatch --wrap 'echo hello from $SLURM_JOB_ID' --output "$SLURM_CI_DIR/hello.out" --wait >/dev/null
  cat "$SLURM_CI_DIR/hello.out"
fi
