#!/bin/sh
# scripts/compare.sh — the README's main job: train a small attractor model and a standard
# transformer of equal parameter count on one task (default: byte-level language modelling
# on the King James Bible), evaluate both on held-out data, measure the attractor's
# internalisation curve, write plots, and print one comparison table; then measure where
# a closed loop pays at this scale: training memory against effective depth.
#   scripts/compare.sh [TASK] [extra eqt train flags...]      e.g. scripts/compare.sh parity
# Environment: EQT (binary, default build/eqt), OUT (default runs/compare-TASK-DATE-TIME).
set -eu
task=${1:-text}
[ $# -gt 0 ] && shift
eqt=${EQT:-build/eqt}
out=${OUT:-runs/compare-$task-$(date +%Y%m%d-%H%M%S)}
# One BLAS thread: these models' matrices are small, and on 2 cores OpenBLAS's spinning
# threads cost more than they give (measured in docs/performance.md).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
[ -x "$eqt" ] || { echo "compare.sh: no eqt binary at $eqt (run scripts/setup.sh first)" >&2; exit 2; }
for model in standard attractor; do
  echo "== training $model on $task (preset configs/$model-$task.json) =="
  "$eqt" train --model "$model" --task "$task" --out "$out/$model" "$@"
  "$eqt" eval --run "$out/$model" > /dev/null
  if [ "$model" != standard ]; then "$eqt" eval --run "$out/$model" --solver-steps 0,1,2,4,max > /dev/null; fi
  "$eqt" plot "$out/$model" > /dev/null
done
"$eqt" compare "$out/standard" "$out/attractor"
# Where a closed loop does pay at this scale (docs/results.md, experiment d): training
# memory stays flat as the attractor's solver runs more iterations, while an unrolled
# looped model's grows with every one. ~3 minutes: 24 short runs, two at a time.
echo "== training memory vs effective depth (experiments/memory-depth.json) =="
"$eqt" sweep "$(dirname "$0")/../experiments/memory-depth.json" --out "$out/memory-depth" --jobs 2 > /dev/null
grep -E "^\| (cell|depth)" "$out/memory-depth/results.md" | cut -d'|' -f2,3,10,12
echo "(peak tensor MB of a training step; table and plots: $out/memory-depth/results.md)"
