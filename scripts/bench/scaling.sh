#!/usr/bin/env bash
# Measures how armsim's cost grows with runs, quarters, suppliers and threads
# (the tables of docs/performance.md). Each line is the median of 3 runs of
# `armsim bench` (one run for 10,000,000 runs, which averages its own noise).
# Takes about 10 minutes on a 2-core machine.
#
#   cargo build --release && scripts/bench/scaling.sh [THREADS...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
armsim=$repo/target/release/armsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bench() { # label, repeats, then armsim bench arguments
    local label=$1 repeat=$2
    shift 2
    local out
    out=$("$armsim" bench "$@" --repeat "$repeat")
    local rate memory
    rate=$(sed -n 's/^median: \([0-9]*\) runs\/s.*/\1/p' <<<"$out")
    memory=$(sed -n 's/^peak memory: \(.*\)$/\1/p' <<<"$out")
    printf '| %s | %s | %s |\n' "$label" "$rate" "$memory"
}

echo "runs (baseline, all cores)"
echo "| runs | runs/s | peak memory |"
for runs in 1000 10000 100000 1000000; do
    bench "$runs" 3 --runs "$runs"
done
bench 10000000 1 --runs 10000000

echo
echo "quarters (4 suppliers, 100,000 runs, all cores)"
echo "| quarters | runs/s | peak memory |"
for q in 40 100 200 400; do
    python3 "$repo/scripts/bench/generate.py" 4 "$q" >"$tmp/q$q.toml"
    bench "$q" 3 "$tmp/q$q.toml" --runs 100000
done

echo
echo "suppliers (40 quarters, 20,000 runs, all cores)"
echo "| suppliers | runs/s | peak memory |"
for n in 4 8 16 32 64; do
    python3 "$repo/scripts/bench/generate.py" "$n" 40 >"$tmp/s$n.toml"
    bench "$n" 3 "$tmp/s$n.toml" --runs 20000
done

echo
echo "threads (baseline, 1,000,000 runs)"
echo "| threads | runs/s | peak memory |"
for t in "${@:-1 2}"; do
    for threads in $t; do bench "$threads" 3 --runs 1000000 --threads "$threads"; done
done
