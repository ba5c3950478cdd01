#!/usr/bin/env bash
# Regenerates every picture and number of docs/validation.md: the case
# library scored at the cases' own values and leave one case out, each with
# the whole sourced timeline and ex ante (the timeline cut at the shock),
# and the baseline scenario's forecast of 2021; the leave-one-case-out runs
# also under model v2, for the comparison of versions. Pictures go to
# docs/images/validation-*.png, the printed summaries and tables to
# docs/results/validation-*. Every evaluation is seeded (the cases' seeds
# and --seed), so the results are the same bits on every machine and thread
# count; only the timings differ.
#
#   scripts/docs/validation.sh     # about 3 minutes on 2 cores, plus the release build
#
# ARMSIM=path uses another binary. Needs /usr/bin/time (GNU time) for the
# time and memory it records.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${ARMSIM:-}" ]; then
  cargo build --release --quiet
  ARMSIM=target/release/armsim
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
images=docs/images
results=docs/results
mkdir -p "$images" "$results"

keep() { sed '/^wrote /d' "$1"; }
seconds() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
  for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f\n", s }' "$1"; }
megabytes() { awk -F': ' '/Maximum resident set size/ { printf "%.0f\n", $2 / 1024 }' "$1"; }

: > "$results/validation-timing.txt"
run() { # NAME ARGS...
  local name=$1
  shift
  /usr/bin/time -v "$ARMSIM" evaluate "$@" --out "$work/$name" > "$work/$name.txt" 2> "$work/$name.time"
  keep "$work/$name.txt" > "$results/validation-$name.txt"
  cp "$work/$name/skill.csv" "$results/validation-$name-skill.csv"
  cp "$work/$name/cases.csv" "$results/validation-$name-cases.csv"
  cp "$work/$name/zero_years.csv" "$results/validation-$name-zero-years.csv"
  printf '%-16s %s %6s s %6s MB\n' "$name" "armsim evaluate $*" \
    "$(seconds "$work/$name.time")" "$(megabytes "$work/$name.time")" >> "$results/validation-timing.txt"
}

zero_years_grid() {
  local out=$results/validation-zero-years-grid.txt
  echo "armsim evaluate --set buyer.contracts_per_quarter=L: the zero-year check at each L" > "$out"
  for l in 0.7 0.8 0.85 0.9 0.95 1.0 1.05 1.1 1.25 1.5; do
    "$ARMSIM" evaluate --set "buyer.contracts_per_quarter=$l" --no-plots --quiet --out "$work/grid-$l"
    printf 'L = %-5s %s\n' "$l" "$(grep '^Zero years' "$work/grid-$l/summary.txt" | sed 's/.*the record shows nothing/nothing/')" >> "$out"
  done
  # Leave one case out: the grid value each case's fold picks (the lowest
  # Brier score on the other cases).
  echo "Leave one case out, the value fitted without each case:" >> "$out"
  for l in 0.7 0.8 0.85 0.9 0.95 1.0 1.05 1.1 1.25 1.5; do
    awk -F, -v l="$l" 'NR > 1 { e = ($5 - $4) ^ 2; se[$1] += e; n[$1]++; all += e; N++ }
      END { for (c in se) printf "%s %s %.6f\n", c, l, (all - se[c]) / (N - n[c]) }' \
      "$work/grid-$l/zero_years.csv"
  done | sort -k1,1 -k3,3g | awk '$1 != last { printf "  %-18s %s\n", $1, $2; last = $1 }' >> "$out"
}

run defaults
run defaults-ex-ante --ex-ante
run loo --loo
run loo-ex-ante --loo --ex-ante
# The same cases under model v2, for docs/validation.md's comparison.
run loo-v2 --loo --model v2
run loo-ex-ante-v2 --loo --ex-ante --model v2
cp "$work/loo/scores.csv" "$results/validation-loo-scores.csv"

# The contracts' number a quarter fitted to the library's zero years
# (docs/model.md 3.1): the check's line at each value of a grid.
zero_years_grid

# The baseline scenario's own forecast of 2021, against the record.
"$ARMSIM" evaluate scenarios/myanmar_2021.toml --runs 10000 --no-plots --quiet --out "$work/baseline"
cp "$work/baseline/scores.csv" "$results/validation-baseline-2021.csv"
"$ARMSIM" evaluate scenarios/myanmar_2021_v2.toml --runs 10000 --no-plots --quiet --out "$work/baseline-v2"
cp "$work/baseline-v2/scores.csv" "$results/validation-baseline-2021-v2.csv"

# Pictures: the leave-one-case-out overview per window, and a few cases.
cp "$work/loo/skill-early.png" "$images/validation-skill-early.png"
cp "$work/loo/skill-late.png" "$images/validation-skill-late.png"
for c in pakistan_1990 ethiopia_1977 mali_2012 turkey_1975; do
  cp "$work/loo/case-$c.png" "$images/validation-case-$c.png"
done
cat "$results/validation-timing.txt"
