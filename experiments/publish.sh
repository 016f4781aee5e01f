#!/bin/sh
# Builds docs/results.md from the sweeps under OUT_ROOT (experiments/run_all.sh OUT_ROOT):
# for each experiment, its note (experiments/notes/NAME.md: the paper's claim, the setting,
# the verdict) followed by the sweep's own results.md (tables, mean ± std over seeds) and
# plots, copied to docs/results/NAME/. An experiment without a finished run says so; a note
# without a spec of its name (convergence.md: section f's claims and verdicts across sweeps)
# is prose alone.
# Usage: experiments/publish.sh OUT_ROOT
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: publish.sh OUT_ROOT}
docs="$here/../docs"
out="$docs/results.md"
{
  echo "# Results: the papers' experiments at CPU scale"
  echo
  cat "$here/notes/intro.md"
} > "$out.tmp"
for name in memory-depth text text-compute text-deq text-bf16 text-bf16-tol parity-length parity-length-128 sudoku maze sudoku6 sudoku6-trm-solve sudoku9 maze9 sudoku6-hour convergence sudoku6-eqr sudoku6-eqr-small eqt-memory; do
  [ -f "$here/notes/$name.md" ] || continue
  { echo; cat "$here/notes/$name.md"; echo; } >> "$out.tmp"
  [ -f "$here/$name.json" ] || continue
  if [ -f "$root/$name/results.md" ]; then
    mkdir -p "$docs/results/$name"
    cp "$root/$name/results.md" "$root/$name/results.json" "$docs/results/$name/"
    for svg in "$root/$name"/*.svg; do [ -f "$svg" ] && cp "$svg" "$docs/results/$name/"; done
    # The sweep's tables one heading level down, its plots linked from docs/.
    tail -n +2 "$root/$name/results.md" | sed -e 's/^## /#### /' \
      -e "s|](\([^)]*\.svg\))|](results/$name/\1)|" >> "$out.tmp"
  else
    echo "_No run of this experiment has finished yet._" >> "$out.tmp"
  fi
done
mv "$out.tmp" "$out"
echo "wrote $out"
