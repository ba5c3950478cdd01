#!/usr/bin/env bash
# Two builds of armsim timed against each other where the host's drift
# cannot favour either (docs/performance.md, "Throughput round 8"): both
# run `armsim bench` at once, one thread each, pinned to the same CPU, so
# they share it turn by turn, and whatever else slows that CPU (another
# tenant, a turbo step) slows both alike. Each round prints both builds'
# CPU seconds (user time, 10 ms resolution) and the speed-up, the first's
# seconds over the second's; the last line gives the medians.
#
#   scripts/bench/paired.sh BEFORE AFTER [ROUNDS] [RUNS] [CPU]
#
# e.g. after `git worktree add /tmp/before HEAD~1` and `CARGO_TARGET_DIR=
# /tmp/before-target cargo build --release` there:
#   scripts/bench/paired.sh /tmp/before-target/release/armsim target/release/armsim
# Defaults: 6 rounds of 150,000 runs of the v2 baseline (3-4 s of CPU each
# here), on CPU 0. Needs `taskset` (util-linux) and GNU `time`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
before=${1:?usage: paired.sh BEFORE AFTER [ROUNDS] [RUNS] [CPU]}
after=${2:?usage: paired.sh BEFORE AFTER [ROUNDS] [RUNS] [CPU]}
rounds=${3:-6}
runs=${4:-150000}
cpu=${5:-0}
for n in "$rounds" "$runs" "$cpu"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "paired.sh: '$n' is not a whole number" >&2; exit 2; }
done
((rounds > 0)) || { echo "paired.sh: at least one round" >&2; exit 2; }
scenario=${SCENARIO:-$repo/scenarios/myanmar_2021_v2.toml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpu_seconds() { # build, output file
    /usr/bin/time -f %U -o "$2" taskset -c "$cpu" "$1" bench "$scenario" --runs "$runs" \
        --threads 1 >/dev/null 2>&1
}

echo "round  before s  after s  speed-up"
for r in $(seq "$rounds"); do
    # Alternate which starts first, in case starting order matters.
    if ((r % 2)); then
        cpu_seconds "$before" "$tmp/before" & first=$!
        cpu_seconds "$after" "$tmp/after" & second=$!
    else
        cpu_seconds "$after" "$tmp/after" & first=$!
        cpu_seconds "$before" "$tmp/before" & second=$!
    fi
    # A build that fails (GNU time then adds a line to its file) stops it.
    status=0
    wait "$first" || status=$?
    wait "$second" || status=$?
    if ((status != 0)); then
        echo "paired.sh: a build failed in round $r:" >&2
        cat "$tmp/before" "$tmp/after" >&2
        exit 1
    fi
    b=$(cat "$tmp/before")
    a=$(cat "$tmp/after")
    echo "$r $b $a" | awk '{ printf "%5d  %8.2f  %7.2f  %8.4f\n", $1, $2, $3, $2 / $3 }' | tee -a "$tmp/rounds"
done
awk '{ b[NR] = $2; a[NR] = $3; s[NR] = $4 }
    function median(x, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
        return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
    }
    END { printf "median %8.3f  %7.3f  %8.4f\n", median(b, NR), median(a, NR), median(s, NR) }' "$tmp/rounds"
