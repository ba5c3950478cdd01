#!/usr/bin/env bash
# Thread scaling of `armsim bench` (docs/performance.md, "Scaling"), and the
# machine's own ceiling: the same threads as independent one-thread
# processes, which share nothing but the hardware. Efficiency is the first
# against the second, so a host whose cores slow each other down (turbo,
# shared caches, a hypervisor) is not blamed on armsim.
#
#   cargo build --release && scripts/bench/threads.sh [SCENARIO] [THREADS...]
#
# Each thread count runs 250,000 runs per thread (about 7 s each at 35,000
# runs/s per thread), so about 2 minutes for 1 2 4 8 16.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
armsim=${ARMSIM:-$repo/target/release/armsim}
scenario=${1:-$repo/scenarios/myanmar_2021_v2.toml}
shift || true
threads=${*:-1 2 4 8 16}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() { sed -n 's/.*"median_runs_per_second":\([0-9]*\).*/\1/p'; }

echo "| threads | one process, runs/s | independent processes, runs/s | efficiency |"
echo "|---|---|---|---|"
for t in $threads; do
    runs=$((250000 * t))
    together=$("$armsim" bench "$scenario" --runs "$runs" --threads "$t" --json | rate)
    for i in $(seq "$t"); do
        "$armsim" bench "$scenario" --runs 250000 --threads 1 --json >"$tmp/p$i.json" &
    done
    wait
    apart=$(cat "$tmp"/p*.json | rate | awk '{s += $1} END {print s}')
    rm -f "$tmp"/p*.json
    awk -v t="$t" -v a="$together" -v b="$apart" \
        'BEGIN { printf "| %s | %s | %s | %.0f%% |\n", t, a, b, 100 * a / b }'
done
