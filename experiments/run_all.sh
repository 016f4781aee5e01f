#!/bin/sh
# Runs every experiment of docs/results.md, one sweep after another, two runs at a time
# (a 2-core machine: each run uses one thread). Resumable: run it again after an
# interruption and each sweep skips its finished runs. Usage: experiments/run_all.sh OUT_ROOT
set -ef  # -f: the --only patterns below reach eqt unexpanded
here=$(cd "$(dirname "$0")" && pwd)
eqt=${EQT:-$here/../build/eqt}
root=${1:?usage: run_all.sh OUT_ROOT}
mkdir -p "$root"
root=$(cd "$root" && pwd)
export OPENBLAS_NUM_THREADS=1
for spec in memory-depth text text-compute tokenizer parity-length maze sudoku parity-length-128 text-deq text-bf16 text-bf16-tol sudoku6 sudoku6-trm-solve sudoku9 maze9 sudoku6-hour sudoku6-eqr sudoku6-eqr-small eqt-memory; do
  [ -f "$here/$spec.json" ] || continue
  echo "== $spec"
  if [ "$spec" = tokenizer ]; then
    # The BPE the tokenizer sweep names, trained once on the KJV text; the sweep runs in the
    # root so its relative path resolves.
    [ -f "$root/kjv-bpe4096.model" ] || "$eqt" tokenizer train --vocab 4096 --out "$root/kjv-bpe4096.model"
  fi
  only=""
  # The standard transformer has no loop state to carry: deep supervision (ds=on) refuses it.
  case $spec in
    sudoku6) only="--only standard/ds=off/* --only looped/* --only attractor/* --only trm/*" ;;
    # Cut to fit the budget (the specs' "about" says so): one cell per family.
    sudoku9 | maze9) only="--only standard/ds=off/* --only looped/ds=off/* --only attractor/ds=off/* --only trm/ds=on/*" ;;
  esac
  # shellcheck disable=SC2086
  (cd "$root" && "$eqt" sweep "$here/$spec.json" --out "$root/$spec" --jobs 2 $only)
done
