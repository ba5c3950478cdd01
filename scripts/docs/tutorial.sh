#!/usr/bin/env bash
# Regenerates every picture of docs/tutorial.md ("A student's first hour with
# armsim") and prints, at its end, every number the tutorial's prose quotes,
# so that the page can be brought up to date after the model or the baseline
# changes: run this, then compare the "numbers quoted" block with the text.
#
#   scripts/docs/tutorial.sh                 # everything, page screenshots included
#   SCREENSHOTS=0 scripts/docs/tutorial.sh   # skip the browser (no chromium needed)
#
# The studies run exactly the tutorial's commands (same seeds, same runs) into
# a temporary directory, and their PNGs are copied to docs/images/tutorial-*.png.
# The page's screenshots (docs/images/page-*.png) come from
# scripts/docs/screenshots.sh, which drives the real page in headless Chromium
# (chromium and chromedriver; Debian: apt-get install chromium chromium-driver).
# ARMSIM=path uses another armsim binary for the command-line studies.
# About half a minute without the screenshots on a 2-core machine, a few
# minutes with them (plus the first build of the browser test).
set -euo pipefail
cd "$(dirname "$0")/../.."
begin=$SECONDS
if [ -z "${ARMSIM:-}" ]; then
  cargo build --release --locked --quiet
  ARMSIM=target/release/armsim
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
images=docs/images
mkdir -p "$images"

# 1. The baseline: what `cargo run --release` runs (armsim with no command is
#    `armsim run`; --out only keeps the student's output/ untouched).
"$ARMSIM" run --out "$work/baseline" > "$work/baseline.txt"
cp "$work/baseline/shares.png" "$images/tutorial-baseline-shares.png"
cp "$work/baseline/support.png" "$images/tutorial-baseline-support.png"

# ... and which runs China turns away in: the first 1,000 runs, run by run.
"$ARMSIM" run --runs 1000 --keep-runs 1000 --no-plots --quiet --out "$work/runs"

# 2. One parameter changed on the command line: the junta no longer values support.
"$ARMSIM" run --set buyer.support_weight=0 --out "$work/sw0" > "$work/sw0.txt"
cp "$work/sw0/shares.png" "$images/tutorial-support-weight-0-shares.png"

# 3. Three counterfactuals, each paired with the baseline run for run.
"$ARMSIM" compare --set-b suppliers.Russia.support=0 --set-b suppliers.Russia.hold_support=true \
  --runs 20000 --out "$work/condemn" > "$work/condemn.txt"
cp "$work/condemn/shares_difference.png" "$images/tutorial-compare-condemn-difference.png"
"$ARMSIM" compare --set-b suppliers.China.support=1 --set-b suppliers.China.hold_support=true \
  --runs 20000 --out "$work/china" > "$work/china.txt"
cp "$work/china/shares_difference.png" "$images/tutorial-compare-china-difference.png"
"$ARMSIM" compare scenarios/myanmar_2021.toml scenarios/myanmar_2021_un_embargo.toml \
  --runs 20000 --out "$work/embargo" > "$work/embargo.txt"

# 4. Which parameter matters most: a Morris screening of the baseline's
#    declared judgement calls, at a student's budget.
"$ARMSIM" sensitivity --method morris --trajectories 100 --out "$work/morris" > "$work/morris.txt"
cp "$work/morris/indices-rolling_share_Russia@end.png" "$images/tutorial-morris-russia.png"
# ... and the exercise on Russia's stance speed: its very end against a step inside.
"$ARMSIM" compare --set-b suppliers.Russia.stance_speed=0 --outcome rolling_share:Russia@end \
  --runs 5000 --no-plots --out "$work/speed0" > "$work/speed0.txt"
"$ARMSIM" compare --set-b suppliers.Russia.stance_speed=0.05 --outcome rolling_share:Russia@end \
  --runs 5000 --no-plots --out "$work/speed005" > "$work/speed005.txt"

# The page: page-baseline.png, page-support-weight.png, page-change.png,
# page-error.png, and the headlines it showed.
if [ "${SCREENSHOTS:-1}" != 0 ]; then
  scripts/docs/screenshots.sh 2>&1 | tee "$work/screenshots.log"
fi

# ---------------------------------------------------------------------------
# The numbers the prose quotes, read from what the studies wrote.

pct() { awk -v x="$1" 'BEGIN { printf "%.1f%%", 100 * x }'; }
# stat SUMMARY LABEL ENTITY METRIC COLUMN: one statistic of summary.csv
# (columns: mean sd p05 p25 p50 p75 p95).
stat() {
  awk -F, -v l="$2" -v e="$3" -v m="$4" -v c="$5" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $2 == l && $3 == e && $4 == m { print $col[c]; exit }' "$1"
}
# extreme SUMMARY ENTITY METRIC max|min [UNIT]: the median's largest or
# smallest value, in percent (or UNIT, such as " points"), and the first
# quarter it is reached.
extreme() {
  awk -F, -v e="$2" -v m="$3" -v w="$4" -v unit="${5:-%}" '
    $3 == e && $4 == m {
      if (best == "" || (w == "max" && $10 > best) || (w == "min" && $10 < best)) { best = $10; at = $2 }
    }
    END { printf (unit == "%" ? "%.1f%s at %s" : "%+.1f%s at %s"), 100 * best, unit, at }' "$1"
}
# first SUMMARY ENTITY METRIC OP VALUE: the first quarter whose median is OP VALUE.
first() {
  awk -F, -v e="$2" -v m="$3" -v op="$4" -v v="$5" '
    $3 == e && $4 == m && ((op == ">=" && $10 >= v) || (op == "<=" && $10 <= v)) { print $2; found = 1; exit }
    END { if (!found) print "never" }' "$1"
}
# paired ROW: one counterfactual's row of the tutorial's table, from
# outcomes.csv (mean difference, paired interval, independent width) and
# difference.csv (the middle 90% of the run-by-run differences at the horizon).
paired() {
  local dir=$1 name=$2 sup=$3
  local o d
  o=$(awk -F, -v k="rolling_share:$sup@end" '$1 == k' "$dir/outcomes.csv")
  d=$(awk -F, -v s="$sup" '$3 == s && $4 == "rolling_share" { row = $0 } END { print row }' "$dir/difference.csv")
  awk -F, -v o="$o" -v d="$d" -v name="$name" -v sup="$sup" 'BEGIN {
    split(o, a, ","); split(d, b, ",")
    printf "| %s | %s | %+.1f [%+.1f, %+.1f] | %+.0f to %+.0f | %.1fx |\n", name, sup,
      100 * a[7], 100 * a[8], 100 * a[9], 100 * b[8], 100 * b[12], (a[11] - a[10]) / (a[9] - a[8])
  }'
}

b="$work/baseline/summary.csv"
s="$work/sw0/summary.csv"
echo
echo "================ numbers quoted in docs/tutorial.md ================"
echo
echo "-- 1. cargo run --release (the baseline), as printed:"
sed -n '1,13p' "$work/baseline.txt"
echo
echo "-- 1. the fan chart (medians of the five-year share, from summary.csv):"
for sup in Russia China India Others; do
  echo "   $sup at 2021Q1: $(pct "$(stat "$b" 2021Q1 "$sup" rolling_share p50)")"
done
echo "   Russia's median peak: $(extreme "$b" Russia rolling_share max)"
echo "   China's median low: $(extreme "$b" China rolling_share min)"
for sup in Russia China; do
  echo "   $sup at 2030Q4: median $(pct "$(stat "$b" 2030Q4 "$sup" rolling_share p50)")," \
    "dark band $(pct "$(stat "$b" 2030Q4 "$sup" rolling_share p25)") to $(pct "$(stat "$b" 2030Q4 "$sup" rolling_share p75)")," \
    "light band $(pct "$(stat "$b" 2030Q4 "$sup" rolling_share p05)") to $(pct "$(stat "$b" 2030Q4 "$sup" rolling_share p95)")"
done
echo "   the first quarter Russia's median is above China's: $(awk -F, '
    $4 == "rolling_share" && $3 == "Russia" { r[$1] = $10; l[$1] = $2 }
    $4 == "rolling_share" && $3 == "China" { c[$1] = $10 }
    END { for (q = 0; q in r; q++) if (r[q] > c[q]) { print l[q]; exit }; print "never" }' "$b")"
echo "   the first quarter Russia's median is below China's again: $(awk -F, '
    $4 == "rolling_share" && $3 == "Russia" { r[$1] = $10; l[$1] = $2 }
    $4 == "rolling_share" && $3 == "China" { c[$1] = $10 }
    END { ahead = 0; for (q = 0; q in r; q++) { if (r[q] > c[q]) ahead = 1; else if (ahead) { print l[q]; exit } }; print "never" }' "$b")"
echo "   Russia's mean at 2030Q4: $(pct "$(stat "$b" 2030Q4 Russia rolling_share mean)")"
echo "-- 1. support.png (medians):"
echo "   Russia at 2021Q1: $(stat "$b" 2021Q1 Russia support p50)"
echo "   China's median at its highest: $(awk -F, '$3 == "China" && $4 == "support" && (best == "" || $10 > best) { best = $10; at = $2 }
    END { printf "%.2f at %s", best, at }' "$b")"
echo "   India's median first reaches 0: $(first "$b" India support "<=" 0)"
echo "   of the first 1,000 runs, those where China's support ends below 0.5: $(awk -F, '
    $2 == 39 && $4 == "China" && $5 == "support" { s[$1] = $6 }
    $4 == "world" && $5 == "unrest" { u[$1] += $6; n[$1]++ }
    END {
      for (r in s) if (s[r] < 0.5) { lo++; ul += u[r] / n[r] } else { hi++; uh += u[r] / n[r] }
      printf "%d runs, mean unrest over the decade %.2f (the other %d: %.2f)", lo, ul / lo, hi, uh / hi
    }' "$work/runs/runs.csv")"
echo "   China at 2030Q4: median $(stat "$b" 2030Q4 China support p50), 90% band $(stat "$b" 2030Q4 China support p05) to $(stat "$b" 2030Q4 China support p95)"
echo
echo "-- 2. armsim params, the entry quoted:"
"$ARMSIM" params | grep -A2 '^  How much the buyer values political support'
echo "-- 2. run --set buyer.support_weight=0, as printed:"
sed -n '1,8p' "$work/sw0.txt"
echo "   Russia's median peak: $(extreme "$s" Russia rolling_share max)"
echo "   India's median at 2030Q4: $(pct "$(stat "$s" 2030Q4 India rolling_share p50)")"
echo "   China's support, median at 2025Q4: $(stat "$s" 2025Q4 China support p50), at 2030Q4: $(stat "$s" 2030Q4 China support p50)"
if [ -f "$work/screenshots.log" ]; then
  echo "-- 2. and 3. the page (page-support-weight.png, page-change.png):"
  grep '^browser: ' "$work/screenshots.log" | sed 's/^/   /'
fi
echo
echo "-- 3. compare, the three tables as printed:"
for c in condemn china embargo; do
  sed -n '1,2p;5,12p' "$work/$c.txt"
  echo
done
echo "-- 3. the table of paired differences at 2030Q4 (five-year share, points):"
echo "| counterfactual | supplier | mean B - A [90% CI, paired] | middle 90% of runs | independent CI |"
echo "|---|---|---|---|---|"
for sup in Russia China; do
  paired "$work/condemn" "Russia condemns" "$sup"
done
for sup in Russia China; do
  paired "$work/china" "China backs openly" "$sup"
done
for sup in Russia China; do
  paired "$work/embargo" "UN embargo" "$sup"
done
echo "   docs/compare.md's small change (docs/results/compare-small.txt, from experiments.sh):" \
  "$(awk '/x as wide/ { sub(/x as wide/, ""); print $NF }' docs/results/compare-small.txt | sort -g |
    awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s to %sx narrower; independent studies would need %.0f to %.0f times the runs", lo, hi, lo * lo, hi * hi }')"
echo "   China backs openly, Russia's 2026-30 mean share: $(awk -F, '$1 == "mean:rolling_share:Russia@2026..2030" { printf "%+.1f points", 100 * $7 }' "$work/china/outcomes.csv")"
echo "   China backs openly, the median difference at its largest:" \
  "China $(extreme "$work/china/difference.csv" China rolling_share max " points")," \
  "Russia $(extreme "$work/china/difference.csv" Russia rolling_share min " points")"
echo
echo "-- 4. sensitivity --method morris --trajectories 100, Russia's 2030Q4 share:"
awk '/^rolling_share:Russia@end/ { on = 1 } on && /^$/ { exit } on' "$work/morris.txt"
tail -n 2 "$work/morris.txt" | grep -v '^wrote '
echo "   stance_speed 0.3 -> 0: $(awk -F, 'NR == 2 { printf "%+.1f points", 100 * $7 }' "$work/speed0/outcomes.csv");" \
  "0.3 -> 0.05: $(awk -F, 'NR == 2 { printf "%+.1f points", 100 * $7 }' "$work/speed005/outcomes.csv")"
echo
echo "regenerated: $(cd "$images" && ls tutorial-*.png | tr '\n' ' ')"
if [ -f "$work/screenshots.log" ]; then
  echo "and the page's screenshots: $(cd "$images" && ls page-*.png | tr '\n' ' ')"
fi
echo "in $((SECONDS - begin)) s"
