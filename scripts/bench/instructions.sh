#!/usr/bin/env bash
# Instructions per run and per compared pair on the built-in (v3) baseline,
# one thread, counted by callgrind (they do not drift with the machine's load, as times
# do): each figure is the difference between a 4,000-run and a 1,000-run
# invocation divided by 3,000, so start-up, output and plots cancel out.
# The comparison is the README's: Russia's support held at 0 in B.
#
#   scripts/bench/instructions.sh [ARMSIM]    (default target/release/armsim)
set -euo pipefail
armsim=${1:-target/release/armsim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count() { # instructions of one invocation
    valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind" "$@" >/dev/null 2>"$tmp/err"
    sed -n 's/.*I *refs: *//p' "$tmp/err" | tr -d ,
}
compare() { # runs
    count "$armsim" compare --runs "$1" --threads 1 --no-plots --quiet --out "$tmp/compare-$1" \
        --set-b suppliers.Russia.support=0 --set-b suppliers.Russia.hold_support=true
}

small=1000
large=4000
run=$((($(count "$armsim" bench --runs $large --threads 1) - $(count "$armsim" bench --runs $small --threads 1)) / (large - small)))
pair=$((($(compare $large) - $(compare $small)) / (large - small)))
echo "instructions per run: $run"
echo "instructions per compared pair: $pair ($(awk "BEGIN { printf \"%.2f\", $pair / $run }") runs)"
