#!/usr/bin/env bash
# What each of model v3's mechanisms does to skill out of sample: the case
# library's leave-one-case-out evaluation with one mechanism switched off in
# the shared profiles (a copy of scenarios/cases, never the shipped one),
# beside the full model and model v2. Writes docs/results/v3-ablation.txt
# (docs/model.md section 12 quotes it).
#
#   scripts/docs/v3-ablation.sh     # about 5 minutes on 2 cores (release build)
#
# ARMSIM=path uses another binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${ARMSIM:-}" ]; then
  cargo build --release --quiet
  ARMSIM=target/release/armsim
fi
ARMSIM=$(realpath "$ARMSIM")
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=docs/results/v3-ablation.txt

row() { # NAME DIR: mean CRPS and median-error skill against persistence per window
  awk -F, -v name="$1" '$2 == "persistence" && $1 != "+0" {
      s = s sprintf("  %s CRPS %+.3f |err| %+.3f", $1, $3, $5) }
    END { printf "%-22s%s\n", name, s }' "$2/skill.csv"
}
run() { # NAME SED-EXPRESSION [ARGS...]: the library with profiles.toml edited
  local name=$1 expr=$2
  shift 2
  mkdir -p "$work/$name/scenarios"
  cp -r "$repo/scenarios/cases" "$work/$name/scenarios/"
  cp -r "$repo/data" "$work/$name/"
  sed -i -E "$expr" "$work/$name/scenarios/cases/profiles.toml"
  (cd "$work/$name" && "$ARMSIM" evaluate --loo --out out --no-plots --quiet "$@")
  row "$name" "$work/$name/out" >> "$work/table"
}

: > "$work/table"
run v2 's/^$//' --model v2
run v3 's/^$//'
run v3-no-trait-spread 's/^trait_spread = [0-9.]+/trait_spread = 0.0/'
run v3-no-stance-cost 's/^stance_cost = [0-9.]+/stance_cost = 0.0/'
run v3-no-selling 's/^sale_willingness = [0-9.]+/sale_willingness = 0.0/'
run v3-no-stability-stake 's/^stability_stake = [0-9.]+/stability_stake = 0.0/'
run v3-holds-cancel 's/^(stance_cost = [0-9.]+.*)$/\1\ncancel_held = 1.0/'
run v3-full-carryover 's/^carryover = [0-9.]+/carryover = 1.0/' \
  --fit buyer.support_weight --fit buyer.lock_in_weight --fit buyer.dependence_weight \
  --fit buyer.quality_weight
# Contracts a quarter fitted from the shares with the rest, as before the
# zero-year fit (docs/model.md 14.1), rather than held at the profile's value.
run v3-contracts-from-shares 's/^$//' \
  --fit buyer.support_weight --fit buyer.lock_in_weight --fit buyer.dependence_weight \
  --fit buyer.quality_weight --fit buyer.carryover --fit buyer.contracts_per_quarter
{
  echo "Leave-one-case-out skill against persistence (mean over cases; 1000 runs a case, seed 20260101),"
  echo "with one v3 mechanism switched off in the shared profiles at a time."
  echo "Produced by scripts/docs/v3-ablation.sh."
  echo
  cat "$work/table"
} > "$out"
cat "$out"
