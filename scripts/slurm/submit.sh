#!/usr/bin/env bash
# Submits an armsim study to Slurm: a job array of SHARDS tasks, one shard each,
# and a merge job that runs when every shard has succeeded.
#
#   scripts/slurm/submit.sh SCENARIO RUNS SHARDS OUTDIR [extra sbatch options...]
#
# The study lands in OUTDIR/study. Set ARMSIM to the armsim binary if it is not
# on the PATH of the compute nodes; OUTDIR must be on a shared file system.
# Prints the array and merge job ids.
set -euo pipefail
if (($# < 4)); then
    sed -n '2,10p' "$0" >&2
    exit 2
fi
scenario=$(realpath "$1") runs=$2 shards=$3 out=$4
shift 4
here=$(dirname "$(realpath "$0")")
mkdir -p "$out"
out=$(realpath "$out")
export ARMSIM=${ARMSIM:-$(command -v armsim || true)}
[[ -n $ARMSIM ]] || { echo "submit.sh: set ARMSIM to the armsim binary" >&2; exit 2; }
array=$(sbatch --parsable --chdir="$out" --export=ALL --array="0-$((shards - 1))" "$@" \
    "$here/shard.sbatch" "$scenario" "$runs" "$out")
merge=$(sbatch --parsable --chdir="$out" --export=ALL --dependency="afterok:${array%%;*}" "$@" \
    "$here/merge.sbatch" "$out" "$shards")
echo "array job $array, merge job $merge; the study will be in $out/study"
