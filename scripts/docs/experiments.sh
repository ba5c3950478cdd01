#!/usr/bin/env bash
# Regenerates every picture and number of docs/compare.md, docs/sweep.md and
# docs/sensitivity.md from the shipped scenarios, so the pages never drift
# from the code: pictures go to docs/images/, the commands' printed results
# to docs/results/. Run from anywhere: scripts/docs/experiments.sh
# (about two minutes on a 2-core machine; ARMSIM=path uses another binary).
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

# compare: what if Russia had condemned the coup (and held to it)?
"$ARMSIM" compare --set-b suppliers.Russia.support=0 --set-b suppliers.Russia.hold_support=true \
  --runs 20000 --out "$work/condemn" > "$results/compare-condemn.txt"
cp "$work/condemn/shares.png" "$images/compare-condemn-shares.png"
cp "$work/condemn/shares_difference.png" "$images/compare-condemn-shares-difference.png"

# compare: a small change, where common random numbers matter most.
"$ARMSIM" compare --set-b buyer.support_weight=0.8 --runs 20000 --out "$work/small" \
  --no-plots > "$results/compare-small.txt"

# compare: the Security Council's embargo, as a second scenario file.
"$ARMSIM" compare scenarios/myanmar_2021.toml scenarios/myanmar_2021_un_embargo.toml \
  --runs 20000 --out "$work/embargo" > "$results/compare-embargo.txt"
cp "$work/embargo/shares.png" "$images/compare-embargo-shares.png"

# sweep: one parameter, then two on a grid.
"$ARMSIM" sweep --vary buyer.support_weight=0:4:9 --runs-per-point 2000 \
  --out "$work/sweep1" > "$results/sweep-support-weight.txt"
cp "$work/sweep1/sweep-rolling_share@end.png" "$images/sweep-support-weight.png"
"$ARMSIM" sweep --vary buyer.support_weight=0:4:9 --vary buyer.isolation_weight=0:4:9 \
  --runs-per-point 500 --outcome rolling_share:Russia@end --out "$work/sweep2" \
  > "$results/sweep-heatmap.txt"
cp "$work/sweep2/heatmap-rolling_share_Russia@end.png" "$images/sweep-heatmap.png"

# sensitivity: the baseline's [sensitivity] section (Sobol), and a Morris screening.
/usr/bin/time -v "$ARMSIM" sensitivity --out "$work/sobol" > "$results/sensitivity-sobol.txt" \
  2> "$work/sobol-time.txt"
grep -E "Elapsed|Maximum resident" "$work/sobol-time.txt" >> "$results/sensitivity-sobol.txt"
cp "$work/sobol/indices-rolling_share_Russia@end.png" "$images/sensitivity-sobol-russia.png"
cp "$work/sobol/indices.csv" "$results/sensitivity-sobol-indices.csv"
"$ARMSIM" sensitivity --method morris --trajectories 40 \
  --param buyer.support_weight --param buyer.isolation_weight --param buyer.price_weight \
  --param buyer.lock_in_weight --param buyer.dependence_weight --param buyer.dependence_ceiling \
  --param buyer.outside_option --param suppliers.Russia.stance_speed \
  --param suppliers.China.stance_speed --param suppliers.Russia.spillover \
  --param world.unrest_volatility --param suppliers.China.veto_propensity \
  --outcome rolling_share:Russia@end --out "$work/morris" > "$results/sensitivity-morris.txt"
cp "$work/morris/indices-rolling_share_Russia@end.png" "$images/sensitivity-morris-russia.png"
# The temporary directories the commands wrote are not worth keeping in the
# results: drop their "wrote ..." lines.
sed -i '/^wrote /d' "$results"/*.txt
echo "regenerated: $(ls "$images" | tr '\n' ' ')"
