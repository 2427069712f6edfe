#!/usr/bin/env bash
# slurm_cluster.sh start|stop|status - a one-node Slurm cluster on 127.0.0.1, as
# root, inside a container/VM without systemd and without a usable cgroup setup.
# Used by the Slurm tests' fixture (tests/slurm_fixture.py: free ports, KillWait=1)
# and by the peer benchmark bench/peers/slurm_bench.sh.
# Everything Slurm writes lives under $SLURM_DIR (default /tmp/banyan-slurm);
# clients find it through SLURM_CONF:  . $SLURM_DIR/env  (or export SLURM_CONF=...).
#
#   bash tests/slurm_cluster.sh start      # install if needed, start munged, slurmctld, slurmd
#   . /tmp/banyan-slurm/env; sbatch --wrap=true; squeue
#   bash tests/slurm_cluster.sh stop       # stop the daemons this script started (by PID)
#
# Knobs: SLURM_DIR, SLURM_CTLD_PORT (6817), SLURMD_PORT (6818), SLURM_CPUS (2),
# SLURM_TUNED=1 adds the throughput settings (see below; default on; 0 = stock),
# SLURM_EXTRA: more slurm.conf lines, appended as they are; SLURM_PART_EXTRA:
# more partition options (e.g. OverSubscribe=FORCE:64 for 128 job slots on 2 CPUs).
set -euo pipefail
SLURM_DIR=${SLURM_DIR:-/tmp/banyan-slurm}
SLURM_CTLD_PORT=${SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
SLURM_CPUS=${SLURM_CPUS:-2}
SLURM_TUNED=${SLURM_TUNED:-1}
SLURM_EXTRA=${SLURM_EXTRA:-}
SLURM_PART_EXTRA=${SLURM_PART_EXTRA:-}
export SLURM_CONF=$SLURM_DIR/etc/slurm.conf
RUN=$SLURM_DIR/run      # pid files, and a mark for each daemon we started
LOG=$SLURM_DIR/log

install_pkgs() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
    command -v sbatch >/dev/null && command -v munged >/dev/null && return 0
  apt-get update -qq
  # --no-install-recommends: slurm-wlm's recommends drag in ~25 plugin/-dev packages
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  mkdir -p "$SLURM_DIR/etc" "$SLURM_DIR/state" "$SLURM_DIR/spool" "$RUN" "$LOG"
  local sched="" mem
  mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
  if [ "$SLURM_TUNED" = 1 ]; then
    # Throughput settings that matter on one node. slurmctld starts batch jobs
    # only from its background loop, which ticks once a second and runs the
    # scheduler at most every batch_sched_delay seconds (default 3): so a stock
    # node starts at most CPUs jobs per 3 s. batch_sched_delay=0 makes it every
    # tick (1 s). Finished jobs leave the controller after 2 s (MinJobAge,
    # default 300 s); no backfill pass; little logging. (`defer` is left out:
    # it only delays starts further.)
    sched="SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MinJobAge=2
SlurmctldDebug=error
SlurmdDebug=error"
  else
    sched="SchedulerType=sched/backfill
SlurmctldDebug=info
SlurmdDebug=info"
  fi
  cat > "$SLURM_CONF" <<EOF
# Written by slurm_cluster.sh: one node, localhost, no cgroups, no accounting.
ClusterName=banyan
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$SLURM_CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
# cgroup plugins need a writable, delegated cgroup tree: not here.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
$sched
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$SLURM_CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP $SLURM_PART_EXTRA
$SLURM_EXTRA
EOF
  echo "export SLURM_CONF=$SLURM_CONF" > "$SLURM_DIR/env"
}

# pid_alive PIDFILE: the process runs (a zombie waiting for PID 1 to reap it does not count)
pid_alive() {
  local p; [ -s "$1" ] && p=$(cat "$1") && [ -r "/proc/$p/status" ] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s
wait_for() {
  local n=$(($1 * 10)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    n=$((n - 1)); [ "$n" -gt 0 ] || { echo "slurm_cluster: $what did not come up; see $LOG" >&2; return 1; }
    sleep 0.1
  done
}

start_munged() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi   # one is running
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key; }
  # The key belongs to munge, and munged run as root refuses it ("Keyfile is
  # insecure ... should be owned by UID 0"): run it as munge, dirs owned by munge.
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged
  cp /run/munge/munged.pid "$RUN/munged.pid.ours"
  wait_for 10 munged sh -c 'munge -n | unmunge'
}

node_idle() { sinfo -h -n localhost -o %T | grep -qx idle; }

start() {
  install_pkgs
  stop >/dev/null 2>&1 || true
  rm -rf "$SLURM_DIR/state" "$SLURM_DIR/spool"
  write_conf
  mkdir -p "$RUN"
  start_munged
  # -c: cold start (no saved state); -i: ignore unreadable state. Both daemonize
  # and write their pid files; their errors go to $LOG, not to the terminal.
  slurmctld -c -i
  wait_for 20 slurmctld scontrol ping
  slurmd -N localhost
  wait_for 30 "slurmd (node idle)" node_idle
  echo "slurm up: SLURM_CONF=$SLURM_CONF; $(sinfo -h -o '%P %a %D %T %C')"
}

stop() {
  local name pidf
  for name in slurmd slurmctld; do
    pidf=$RUN/$name.pid
    if pid_alive "$pidf"; then
      kill "$(cat "$pidf")"
      for _ in $(seq 50); do pid_alive "$pidf" || break; sleep 0.1; done
    fi
  done
  if pid_alive "$RUN/munged.pid.ours"; then kill "$(cat "$RUN/munged.pid.ours")"; rm -f "$RUN/munged.pid.ours"; fi
  echo "slurm stopped"
}

status() {
  local name
  for name in slurmctld slurmd munged.pid.ours; do
    f=$RUN/$name; [ "${name%.ours}" = "$name" ] && f=$RUN/$name.pid
    if pid_alive "$f"; then echo "$name: running, pid $(cat "$f")"; else echo "$name: not running"; fi
  done
  scontrol ping 2>&1 || true
  sinfo 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
