#!/usr/bin/env bash
# Regenerates every picture and number of docs/calibration.md from the
# shipped scenarios: pictures go to docs/images/calibration-*.png, the
# commands' printed results and tables to docs/results/calibration-*.
# Every calibration is seeded by its scenario file, so the results are the
# same bits on every machine and thread count; only the timings differ.
#
#   scripts/docs/calibration.sh             # 5 to 6 minutes on 2 cores
#   TIMINGS=1 scripts/docs/calibration.sh   # time Myanmar once, not 3 times
#   UPDATE_SCENARIOS=1 scripts/docs/calibration.sh
#       # also write the calibrated values into scenarios/ (after a model
#       # change); without it the script only checks that they are there
#
# ARMSIM=path uses another binary. Needs /usr/bin/time (GNU time) for the
# time and memory it records.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${ARMSIM:-}" ]; then
  cargo build --release --quiet
  ARMSIM=target/release/armsim
fi
timings="${TIMINGS:-3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
images=docs/images
results=docs/results
mkdir -p "$images" "$results"

# The printed summary, without the temporary directory's "wrote ..." line.
keep() { sed '/^wrote /d' "$1"; }
seconds() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
  for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f\n", s }' "$1"; }
megabytes() { awk -F': ' '/Maximum resident set size/ { printf "%.0f\n", $2 / 1024 }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# A copy of a history scenario that holds out one window: its targets are
# dropped, and the forecast reports that window's simulated delivery shares
# across the posterior fitted to the other windows. The data path becomes
# absolute so that the copy can live in $work.
holdout() { # FILE DATA WINDOW SUPPLIERS... > copy
  local file=$1 data=$2 window=$3
  shift 3
  local outcomes="" s
  for s in "$@"; do outcomes="$outcomes\"share:deliveries:$s@$window\", "; done
  awk -v data="data = \"$PWD/data/$data\"" -v outcomes="forecast_outcomes = [${outcomes%, }]" \
      -v window="\"$window\"" '
    /^data = / { print data; next }
    /^forecast = / { print outcomes; next }
    /^\[\[calibration\.targets\]\]/ { block = $0 "\n"; inblock = 1; held = 0; next }
    inblock && /^$/ { if (!held) printf "%s\n", block; inblock = 0; next }
    inblock { block = block $0 "\n"; if (index($0, window)) held = 1; next }
    { print }
    END { if (inblock && !held) printf "%s", block }' "$file"
}

# Myanmar: the baseline's calibration, timed; every run must give the same bits.
: > "$work/timing.txt"
for i in $(seq 1 "$timings"); do
  /usr/bin/time -v "$ARMSIM" calibrate scenarios/myanmar_history.toml \
    --out "$work/myanmar-$i" > "$work/myanmar-$i.txt" 2> "$work/myanmar-$i.time"
  cmp "$work/myanmar-1/posterior.csv" "$work/myanmar-$i/posterior.csv"
  echo "$(seconds "$work/myanmar-$i.time") $(megabytes "$work/myanmar-$i.time")" >> "$work/timing.txt"
done
my="$work/myanmar-1"
keep "$work/myanmar-1.txt" > "$results/calibration-myanmar.txt"
cp "$my/posterior_summary.csv" "$results/calibration-myanmar-posterior_summary.csv"
cp "$my/fit.csv" "$results/calibration-myanmar-fit.csv"
cp "$my/forecast.csv" "$results/calibration-myanmar-forecast.csv"
for f in pairs fit_shares fit_lumpiness fit_totals forecast_shares forecast_support; do
  cp "$my/$f.png" "$images/calibration-myanmar-${f//_/-}.png"
done
{
  echo "armsim calibrate scenarios/myanmar_history.toml, $timings run(s), all the same bits"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "run  wall_s  max_rss_MB"
  awk '{ printf "%3d  %6.1f  %10d\n", NR, $1, $2 }' "$work/timing.txt"
  echo "median wall: $(cut -d' ' -f1 "$work/timing.txt" | median) s; median max RSS: $(cut -d' ' -f2 "$work/timing.txt" | median) MB"
} > "$results/calibration-timing.txt"

# Thailand: the second case, calibrated the same way.
/usr/bin/time -v "$ARMSIM" calibrate scenarios/thailand_history.toml --out "$work/thailand" \
  > "$work/thailand.txt" 2> "$work/thailand.time"
keep "$work/thailand.txt" > "$results/calibration-thailand.txt"
echo "thailand: $(seconds "$work/thailand.time") s, $(megabytes "$work/thailand.time") MB" \
  >> "$results/calibration-timing.txt"
cp "$work/thailand/posterior_summary.csv" "$results/calibration-thailand-posterior_summary.csv"
for f in fit_shares forecast_shares; do
  cp "$work/thailand/$f.png" "$images/calibration-thailand-${f//_/-}.png"
done

# Out of sample: fit all but the last window, forecast the last.
holdout scenarios/myanmar_history.toml myanmar_imports_sipri_tiv.csv 2016..2020 \
  Russia China India Others > "$work/myanmar_holdout.toml"
"$ARMSIM" calibrate "$work/myanmar_holdout.toml" --out "$work/myanmar-holdout" \
  | keep /dev/stdin > "$results/calibration-myanmar-holdout.txt"
holdout scenarios/thailand_history.toml sipri_imports_thailand_mali.csv 2015..2019 \
  "United States" China Europe Others > "$work/thailand_holdout.toml"
"$ARMSIM" calibrate "$work/thailand_holdout.toml" --out "$work/thailand-holdout" \
  | keep /dev/stdin > "$results/calibration-thailand-holdout.txt"
# Neither the temporary directory nor this checkout's place names anything
# a reader can open.
sed -i -e "s|$work/||g" -e "s|$PWD/||g" "$results"/calibration-*.txt

# The shipped scenarios must carry exactly these calibrated values.
stale=0
for pair in "$my/calibrated.toml scenarios/myanmar_2021.toml" \
            "$my/calibrated_history.toml scenarios/myanmar_history.toml" \
            "$work/thailand/calibrated.toml scenarios/thailand_2014.toml" \
            "$work/thailand/calibrated_history.toml scenarios/thailand_history.toml"; do
  set -- $pair
  if ! cmp -s "$1" "$2"; then
    if [ -n "${UPDATE_SCENARIOS:-}" ]; then
      cp "$1" "$2"
      echo "updated $2"
    else
      echo "warning: $2 is not this calibration's output (UPDATE_SCENARIOS=1 writes it)" >&2
      stale=1
    fi
  fi
done
echo "regenerated: $(ls "$images" | grep '^calibration-' | tr '\n' ' ')"
exit "$stale"
