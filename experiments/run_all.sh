#!/bin/sh
# Runs every experiment of docs/results.md, one sweep after another, two runs at a time
# (a 2-core machine: each run uses one thread). Resumable: run it again after an
# interruption and each sweep skips its finished runs. Usage: experiments/run_all.sh OUT_ROOT
set -e
here=$(dirname "$0")
eqt=${EQT:-$here/../build/eqt}
root=${1:?usage: run_all.sh OUT_ROOT}
export OPENBLAS_NUM_THREADS=1
for spec in memory-depth text text-compute parity-length sudoku maze text-deq parity-length-128; do
  [ -f "$here/$spec.json" ] || continue
  echo "== $spec"
  "$eqt" sweep "$here/$spec.json" --out "$root/$spec" --jobs 2
done
