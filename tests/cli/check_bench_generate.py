#!/usr/bin/env python3
"""`eqt bench generate --json` prints exactly one JSON object {"results": [...]} whose rows
have exactly the documented keys and types, one per (model, prompt length, mode). Speed
is not asserted here (shared, noisy machines): the benchmark prints figures.
Usage: check_bench_generate.py EQT_BINARY"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_json import check_row_types, decoding_families as families, run_bench_json, require  # noqa: E402


eqt = sys.argv[1]
rows = run_bench_json(eqt, ["generate", "--json", "--prompt-lens", "16,40", "--new-tokens", "3"], {"results"})["results"]
keys = {"model": str, "prompt_len": int, "mode": str, "tokens_per_s": float, "solver_steps_mean": float}
for row in rows:
    check_row_types(row, keys)
    require(row["mode"] in ("cached", "recompute") and row["tokens_per_s"] > 0, f"{row}")
seen = {(r["model"], r["prompt_len"], r["mode"]) for r in rows}
want = {(m, p, mode) for m in families(eqt) for p in (16, 40)
        for mode in ("cached", "recompute")}
require(seen == want and len(rows) == len(want), f"rows {sorted(seen)}")
steps = {(r["model"], r["mode"]): r["solver_steps_mean"] for r in rows if r["prompt_len"] == 40}
require(steps[("standard", "cached")] == 0 and steps[("attractor", "cached")] >= 1, f"steps {steps}")
print(f"  ok   {len(rows)} rows with the documented keys; attractor steps/token {steps[('attractor', 'cached')]:.2f}")
