#!/usr/bin/env bash
# scripts/eqt_ablation.sh [OUT] [STEPS] [LENGTH] — what each EqT energy term contributes:
# the EqT parity preset at parity length LENGTH (32) for STEPS (1000) steps, seed 0, with
# all terms, each term alone, and no refinement (K = 0), then one table of held-out token
# and exact accuracy (eval at the preset's K). A finished variant is skipped, so an
# interrupted ablation resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/eqt-ablation}
steps=${2:-1000}
length=${3:-32}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$out"
declare -A variants=(
  [all]='{}'
  [rev_only]='{"lambda_mask": 0, "lambda_conf": 0}'
  [mask_only]='{"lambda_rev": 0, "lambda_conf": 0}'
  [conf_only]='{"lambda_rev": 0, "lambda_mask": 0}'
  [no_refinement]='{"steps": 0, "eval_steps": 0}'
)
order=(all rev_only mask_only conf_only no_refinement)
for v in "${order[@]}"; do
  dir="$out/$v"
  if [[ -f "$dir/eval.json" ]]; then echo "ablation: $v done, skipped"; continue; fi
  python3 - "$v" "${variants[$v]}" "$out/$v.json" <<'PY'
import json, sys
name, over, path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
cfg = json.load(open("configs/eqt-parity.json"))
cfg["model"].setdefault("eqt", {}).update(over)
json.dump(cfg, open(path, "w"), indent=1)
PY
  resume=()
  [[ -f "$dir/checkpoint.eqt" ]] && resume=(--resume)
  echo "ablation: $v"
  build/eqt train --model eqt --task parity --length "$length" --steps "$steps" --config "$out/$v.json" \
    --out "$dir" "${resume[@]}" | grep -E "validation|warning|done"
  build/eqt eval --run "$dir" --json > /dev/null
done
printf "\n| variant (EqT, parity L%s, %s steps, seed 0) | token acc | exact | train s |\n|---|---|---|---|\n" "$length" "$steps"
for v in "${order[@]}"; do
  python3 - "$out/$v" "$v" <<'PY'
import json, sys
d, name = sys.argv[1], sys.argv[2]
e = json.load(open(d + "/eval.json"))
ms = [json.loads(l) for l in open(d + "/metrics.jsonl") if '"ms"' in l]
secs = sum(r["ms"] for r in ms) * (ms[1]["step"] - ms[0]["step"] if len(ms) > 1 else 1) / 1000
print(f"| {name} | {e['token_accuracy']:.4f} | {e['exact_accuracy']:.4f} | {secs:.0f} |")
PY
done
