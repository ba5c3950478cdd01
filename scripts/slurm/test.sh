#!/usr/bin/env bash
# End-to-end test of the Slurm recipe on a real, single-node Slurm cluster.
#
# Installs Debian's slurm-wlm and munge if missing, writes a minimal slurm.conf
# for this host, starts munged, slurmctld and slurmd, submits the shipped job
# array (4 shards) and its merge through submit.sh, waits for them, checks the
# merged summary.csv is byte-identical to the single-process study, and stops
# every daemon it started, by pid. Needs root (as CI and the dev machines run).
#
#   scripts/slurm/test.sh [ARMSIM_BINARY]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
armsim=$(realpath "${1:-$repo/target/debug/armsim}")
runs=4000
shards=4
seed=3

say() { printf '[slurm-test] %s\n' "$*"; }
[[ -x $armsim ]] || { say "no armsim binary at $armsim (cargo build first)"; exit 1; }
[[ $(id -u) == 0 ]] || { say "needs root to run Slurm's daemons"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/armsim-slurm.XXXXXX)
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if ((status != 0)); then
        say "FAILED; logs follow"
        for log in "$work"/*.log "$work"/out/*.log; do
            [[ -f $log ]] && { echo "--- $log"; tail -n 30 "$log"; }
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# munge: a key of our own and a socket in the work directory, so nothing of
# the machine's own munge (if any) is touched.
mkdir -p "$work/munge"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munge/seed"
for _ in $(seq 50); do [[ -s $work/munge/munged.pid ]] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")
say "munged started (pid ${pids[-1]})"

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool" "$work/out"
cat >"$work/slurm.conf" <<CONF
ClusterName=armsim-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf

slurmctld -f "$SLURM_CONF"
for _ in $(seq 100); do [[ -s $work/slurmctld.pid ]] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
say "slurmctld started (pid ${pids[-1]})"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do [[ -s $work/slurmd.pid ]] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")
say "slurmd started (pid ${pids[-1]})"

for _ in $(seq 150); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [[ $state == idle* ]] && break
    sleep 0.2
done
[[ $state == idle* ]] || { say "the node did not come up (state: '$state')"; exit 1; }
say "node $host is $state"

scenario=$work/scenario.toml
sed "s/^seed = .*/seed = $seed/" "$repo/scenarios/myanmar_2021.toml" >"$scenario"
submitted=$(ARMSIM=$armsim "$repo/scripts/slurm/submit.sh" "$scenario" "$runs" "$shards" "$work/out")
say "$submitted"
merge_job=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' <<<"$submitted")

deadline=$((SECONDS + 600))
while :; do
    merge_state=$(scontrol show job "$merge_job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $merge_state in
        COMPLETED) break ;;
        FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
            say "merge job ended $merge_state"; exit 1 ;;
    esac
    ((SECONDS < deadline)) || { say "timed out waiting (merge job: $merge_state)"; squeue; exit 1; }
    sleep 1
done
shard_logs=$(ls "$work"/out/armsim-shard-*.log | wc -l)
say "merge job completed after $shard_logs array tasks"
((shard_logs == shards)) || { say "expected $shards array tasks"; exit 1; }

"$armsim" run "$scenario" --runs "$runs" --no-plots --quiet --out "$work/single"
if cmp -s "$work/single/summary.csv" "$work/out/study/summary.csv"; then
    say "OK: the merged study is byte-identical to the single-process study ($runs runs, $shards shards)"
else
    say "the merged summary.csv differs from the single-process study"
    exit 1
fi
