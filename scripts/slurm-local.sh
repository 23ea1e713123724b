#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests marked `slurm` (tests/test_zoo_slurm.py).
#
#   bash scripts/slurm-local.sh start    # install (root + apt only) and start munged, slurmctld, slurmd
#   bash scripts/slurm-local.sh status   # is it up? (exit 0 when the node answers)
#   bash scripts/slurm-local.sh stop     # cancel its jobs, stop its daemons, delete its state directory
#
# Everything lives under one state directory, $MEMGEN_SLURM_DIR (default /tmp/memgen-slurm): its own
# slurm.conf, munge key and socket, spool, logs and pid files. Nothing under /etc is written and no
# system service is started, so it does not interfere with a Slurm or munge of the machine; clients
# find it through SLURM_CONF, which `start` writes to $MEMGEN_SLURM_DIR/env. Idempotent: start on a
# running cluster and stop on a stopped one do nothing.
#
# Without root, apt or the packages (or when apt-get fails), `start` explains why in
# $MEMGEN_SLURM_DIR/unavailable and exits 0: the Slurm tests then skip with that reason. When the
# packages are there but the daemons do not come up, it exits 1 (a fault to fix, not to skip).
set -euo pipefail

DIR="${MEMGEN_SLURM_DIR:-${TMPDIR:-/tmp}/memgen-slurm}"
CTLD_PORT="${MEMGEN_SLURM_PORT:-16817}"   # not Slurm's 6817/6818: a system Slurm may hold those
SLURMD_PORT=$((CTLD_PORT + 1))
# Debian bookworm's Slurm 22.05 (the version these tests were written against) and munge 0.5.15
PACKAGES=(slurmctld slurmd slurm-client munge)
export SLURM_CONF="$DIR/slurm.conf"

say() { echo "slurm-local: $*" >&2; }

unavailable() {
  mkdir -p "$DIR"
  echo "$*" >"$DIR/unavailable"
  say "not started: $*"
  exit 0
}

have_binaries() {
  command -v munged >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v sbatch >/dev/null
}

install_packages() {
  have_binaries && return 0
  [ "$(id -u)" = 0 ] || unavailable "Slurm is not installed and installing it needs root (apt-get install ${PACKAGES[*]})"
  command -v apt-get >/dev/null || unavailable "Slurm is not installed and this machine has no apt-get to install it"
  say "installing ${PACKAGES[*]} with apt-get"
  # the packages' maintainer scripts would start system munge/slurm services: a policy-rc.d that
  # denies it (only if the machine has none) keeps every daemon ours and under $DIR
  local policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
  fi
  local rc=0
  # MEMGEN_APT_UPDATED=1: the caller (scripts/test.sh) has just run apt-get update
  { if [ "${MEMGEN_APT_UPDATED:-0}" != 1 ]; then apt-get update -qq; fi \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PACKAGES[@]}"; } \
    >"$DIR/apt.log" 2>&1 </dev/null || rc=$?
  if [ "$added" = 1 ]; then rm -f "$policy"; fi
  if [ "$rc" != 0 ] || ! have_binaries; then
    tail -n 5 "$DIR/apt.log" >&2 || true
    unavailable "apt-get install ${PACKAGES[*]} failed (exit $rc; log in $DIR/apt.log)"
  fi
}

# the node's name is the short host name, which slurmd finds for itself
short_host() { uname -n | cut -d. -f1; }

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_state() { timeout 10 sinfo -h -o %T 2>/dev/null | head -1; }

is_up() {
  [ -f "$DIR/env" ] && pid_alive "$DIR/run/munged.pid" && pid_alive "$DIR/run/slurmctld.pid" \
    && pid_alive "$DIR/run/slurmd.pid" && [ -n "$(node_state)" ]
}

write_conf() {
  local host
  host="$(short_host)"
  cat >"$SLURM_CONF" <<EOF
# one-node test cluster written by scripts/slurm-local.sh; state under $DIR
ClusterName=memgen-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/slurmd
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# no cgroups in a container: track job processes through /proc, no CPU binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
# no slurmdbd: sacct has nothing to read, which memgen must cope with (as on many small clusters)
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SchedulerType=sched/backfill
# a cancelled job is killed 2 s after its SIGTERM (Slurm's default is 30 s), so scancel is prompt
KillWait=2
MinJobAge=300
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  if is_up; then
    say "already running ($DIR, node $(node_state))"
    return 0
  fi
  [ -d "$DIR" ] && stop_daemons quiet
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  install_packages
  [ "$(id -u)" = 0 ] || unavailable "the local test cluster runs its daemons as root (SlurmUser=root); run as root"
  mkdir -p "$DIR"/{munge,run,log,ctld,slurmd}
  chmod 700 "$DIR/munge"
  write_conf
  # a fresh random key for this cluster only
  head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
  chmod 400 "$DIR/munge/munge.key"
  munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" \
    </dev/null >>"$DIR/log/munged.log" 2>&1 || { tail -n 5 "$DIR/log/munged.log" >&2; say "munged did not start"; exit 1; }
  # stdio to the logs: a daemon must not hold the caller's output pipe open (CI waits on it)
  slurmctld -f "$SLURM_CONF" </dev/null >>"$DIR/log/slurmctld.log" 2>&1 || { say "slurmctld did not start (log $DIR/log/slurmctld.log)"; exit 1; }
  slurmd -f "$SLURM_CONF" </dev/null >>"$DIR/log/slurmd.log" 2>&1 || { say "slurmd did not start (log $DIR/log/slurmd.log)"; exit 1; }
  local state="" i
  for i in $(seq 1 60); do
    state="$(node_state)"
    case "$state" in idle|mixed|allocated) break ;; esac
    sleep 0.5
  done
  case "$state" in
    idle|mixed|allocated) ;;
    *)
      tail -n 5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
      say "the node did not come up (state '${state:-none}')"
      stop_daemons quiet
      exit 1
      ;;
  esac
  echo "export SLURM_CONF=$SLURM_CONF" >"$DIR/env"
  rm -f "$DIR/unavailable"
  say "up: node $(short_host), 2 CPUs, partition debug, state $state; SLURM_CONF=$SLURM_CONF"
}

stop_daemons() {
  # jobs first: slurmstepd outlives slurmd, so a running job would be left behind
  if [ -f "$SLURM_CONF" ] && pid_alive "$DIR/run/slurmctld.pid"; then
    local ids i
    ids="$(timeout 10 squeue -h -o %A 2>/dev/null || true)"
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      timeout 10 scancel $ids 2>/dev/null || true
      for i in $(seq 1 40); do
        [ -z "$(timeout 10 squeue -h -t running,completing,pending -o %A 2>/dev/null || true)" ] && break
        sleep 0.25
      done
    fi
  fi
  # the two Slurm daemons together, then munged (which their shutdown may still ask); each only by
  # the pid it wrote under $DIR, SIGKILL after 10 s
  end_daemons "${1:-}" slurmd slurmctld
  end_daemons "${1:-}" munged
}

end_daemons() {
  local quiet="$1" name pid i
  shift
  local pids=() names=()
  for name in "$@"; do
    pid_alive "$DIR/run/$name.pid" || continue
    pid="$(cat "$DIR/run/$name.pid")"
    kill "$pid" 2>/dev/null || true
    pids+=("$pid")
    names+=("$name")
  done
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    [ "$quiet" = quiet ] || say "stopped ${names[$i]} ($pid)"
  done
}

stop() {
  if [ ! -d "$DIR" ]; then
    say "not running"
    return 0
  fi
  stop_daemons "${1:-}"
  rm -rf "$DIR"
  say "stopped; removed $DIR"
}

status() {
  if is_up; then
    echo "slurm-local: up ($DIR): node $(node_state); SLURM_CONF=$SLURM_CONF"
    timeout 10 squeue 2>/dev/null || true
    return 0
  fi
  if [ -f "$DIR/unavailable" ]; then
    echo "slurm-local: unavailable: $(cat "$DIR/unavailable")"
  else
    echo "slurm-local: not running"
  fi
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
