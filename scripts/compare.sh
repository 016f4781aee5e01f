#!/bin/sh
# scripts/compare.sh — the README's main job: train a small attractor model and a standard
# transformer of equal parameter count on one task (default: byte-level language modelling
# on the King James Bible), evaluate both on held-out data, measure the attractor's
# internalisation curve, write plots, and print one comparison table; then show where a
# closed loop pays at this scale: exact accuracy on mazes, training memory against depth.
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
# Where a closed loop pays in accuracy at this scale (docs/results.md, experiment b): 7 x 7
# mazes whose shortest path has >= 8 moves, three of the maze sweep's own runs (equal
# parameters, 600 steps, seed 0; the 3-seed table is in docs/results.md). ~4 minutes.
echo "== exact accuracy on 7 x 7 mazes (experiments/maze.json, min path 8, seed 0) =="
"$eqt" sweep "$(dirname "$0")/../experiments/maze.json" --out "$out/maze" --jobs 2 \
  --only standard/min_path=8/seed0 --only looped/min_path=8/seed0 --only attractor/min_path=8/seed0 > /dev/null
grep -E "^\| (cell|min_path)" "$out/maze/results.md" | head -4 | cut -d'|' -f2,3,6,7,9
echo "(held-out mazes: exact = the whole path right; table and plots: $out/maze/results.md)"
# Where a closed loop does pay at this scale (docs/results.md, experiment d): training
# memory stays flat as the attractor's solver runs more iterations, while an unrolled
# looped model's grows with every one. ~3 minutes: 24 short runs, two at a time.
echo "== training memory vs effective depth (experiments/memory-depth.json) =="
"$eqt" sweep "$(dirname "$0")/../experiments/memory-depth.json" --out "$out/memory-depth" --jobs 2 > /dev/null
grep -E "^\| (cell|depth)" "$out/memory-depth/results.md" | cut -d'|' -f2,3,10,12
echo "(peak tensor MB of a training step; table and plots: $out/memory-depth/results.md)"
