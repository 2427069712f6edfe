#!/usr/bin/env bash
# Slurm (Debian slurm-wlm 22.05): one node (localhost, 2 CPUs) started by
# tests/slurm_cluster.sh; jobs are `sbatch --wrap=true`, each taking 1 CPU.
#   RUNS=3 bash slurm_bench.sh                    # all three variants (~20 min)
#   VARIANTS=tuned128 N=1000 bash slurm_bench.sh  # one of them
#
# Variants (N is cut where a run would take many minutes: see the knobs):
#   stock     slurm.conf defaults (sched/backfill, batch_sched_delay=3 s,
#             MinJobAge=300): 2 slots.                    N=${N_STOCK:-30}
#   tuned     SLURM_TUNED=1 of tests/slurm_cluster.sh (sched/builtin,
#             batch_sched_delay=0, MinJobAge=2): 2 slots.  N=${N_TUNED:-100}
#   tuned128  tuned, and the partition OverSubscribe=FORCE:64: 128 job slots
#             on the same 2 CPUs (what a Slurm user would do for tiny jobs). N=$N
# Phases per run (PHASES="e2e latency" runs only those): e2e (a loop of sbatch while jobs run, until squeue is empty),
# drain (N submitted with the partition DOWN = pure submit rate, then UP = pure
# drain rate), array (one `sbatch --array=1-N`), latency (median of 10 single
# jobs on an idle node: sbatch -> first instruction of the batch script).
. "$(dirname "$0")/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
VARIANTS=${VARIANTS:-"stock tuned tuned128"}
N_ALL=$N
export SLURM_DIR=$WORK/slurm
export SLURM_CONF=$SLURM_DIR/etc/slurm.conf
OUT=$WORK/slurm-out
trap 'cd /; bash "$HERE/../../tests/slurm_cluster.sh" stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

active() { squeue -h -t PD,R,CG,CF -o %i | wc -l; }
# wait_empty SECONDS: until no job is pending, running or completing
wait_empty() {
  local end=$((SECONDS + $1))
  while [ "$(active)" -gt 0 ]; do
    [ "$SECONDS" -lt "$end" ] || { echo "slurm: jobs still active after $1 s" >&2; squeue | head >&2; return 1; }
    sleep 0.05
  done
}
submit_n() { local i; for ((i = 0; i < N; i++)); do sbatch -Q -o "$OUT/%j.out" --wrap=true; done; }
check_outputs() {   # every job wrote its (empty) output file
  local n; n=$(find "$OUT" -name '*.out' | wc -l)
  [ "$n" -eq "$1" ] || { echo "slurm: $n of $1 jobs left an output file" >&2; exit 1; }
  find "$OUT" -mindepth 1 -delete
}

for variant in $VARIANTS; do
  case $variant in
    stock)    tuned=0; part="";                      N=${N_STOCK:-30};  phases="e2e latency" ;;
    tuned)    tuned=1; part="";                      N=${N_TUNED:-100}; phases="e2e drain array latency" ;;
    tuned128) tuned=1; part="OverSubscribe=FORCE:64"; N=$N_ALL;          phases="e2e drain array latency" ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  phases=${PHASES:-$phases}   # PHASES="e2e latency": what bench/compare.py needs
  # MaxJobCount: the stock MinJobAge (300 s) keeps every finished job in memory.
  SLURM_TUNED=$tuned SLURM_PART_EXTRA=$part SLURM_EXTRA=MaxJobCount=100000 \
    bash "$HERE/../../tests/slurm_cluster.sh" start
  mkdir -p "$OUT"; find "$OUT" -mindepth 1 -delete; cd "$OUT"
  name="slurm $variant"
  declare -A R=()
  for ((r = 1; r <= RUNS; r++)); do
    if [[ $phases == *e2e* ]]; then
      a=$(now); submit_n; b=$(now); wait_empty 900; c=$(now)
      R[submit]+=" $(rate "$N" "$a" "$b")"; R[e2e]+=" $(rate "$N" "$a" "$c")"
      check_outputs "$N"
    fi
    if [[ $phases == *drain* ]]; then
      scontrol update PartitionName=debug State=DOWN
      a=$(now); submit_n; b=$(now)
      scontrol update PartitionName=debug State=UP; c=$(now); wait_empty 900; d=$(now)
      R[submit_held]+=" $(rate "$N" "$a" "$b")"; R[drain]+=" $(rate "$N" "$c" "$d")"
      check_outputs "$N"
    fi
    if [[ $phases == *array* ]]; then   # MaxArraySize defaults to 1001
      a=$(now); sbatch -Q -o "$OUT/%A_%a.out" --array=1-"$N" --wrap=true; b=$(now); wait_empty 900; c=$(now)
      R[array_submit]+=" $(ms "$a" "$b")"; R[array_e2e]+=" $(rate "$N" "$a" "$c")"
      check_outputs "$N"
    fi
    if [[ $phases == *latency* ]]; then
      lat=()
      for i in $(seq 10); do
        sleep "0.$((RANDOM % 1000))"   # the scheduler ticks each second: sample its phase
        f=$OUT/lat.$i
        a=$(now); sbatch -Q -o /dev/null --wrap="date +%s.%N > $f.tmp && mv $f.tmp $f"
        wait_until 60 test -s "$f"; lat+=("$(ms "$a" "$(cat "$f")")"); rm -f "$f"
        wait_empty 60
      done
      R[latency]+=" $(median "${lat[@]}")"; R[lat_all]+=" ${lat[*]}"
    fi
  done
  echo "# $name: N=$N"
  [ -z "${R[e2e]:-}" ]          || report "$name" "submit (jobs run too)"  jobs/s ${R[submit]}
  [ -z "${R[e2e]:-}" ]          || report "$name" "end-to-end"             jobs/s ${R[e2e]}
  [ -z "${R[drain]:-}" ]        || report "$name" "submit (part. down)"    jobs/s ${R[submit_held]}
  [ -z "${R[drain]:-}" ]        || report "$name" "drain (N queued)"       jobs/s ${R[drain]}
  [ -z "${R[array_e2e]:-}" ]    || report "$name" "array submit (1 call)"  ms     ${R[array_submit]}
  [ -z "${R[array_e2e]:-}" ]    || report "$name" "array end-to-end"       jobs/s ${R[array_e2e]}
  [ -z "${R[latency]:-}" ]      || report "$name" "start latency (med 10)" ms     ${R[latency]}
  [ -z "${R[lat_all]:-}" ]      || echo "# $name: every latency sample (ms):${R[lat_all]}"
  cd /; bash "$HERE/../../tests/slurm_cluster.sh" stop
done
