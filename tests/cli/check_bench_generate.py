#!/usr/bin/env python3
"""`eqt bench generate --json` prints exactly one JSON object {"results": [...]} whose rows
have exactly the documented keys and types, one per (model, prompt length, mode). Speed
is not asserted here (shared, noisy machines): the benchmark prints figures.
Usage: check_bench_generate.py EQT_BINARY"""
import json, os, subprocess, sys

eqt = sys.argv[1]
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
r = subprocess.run([eqt, "bench", "generate", "--json", "--prompt-lens", "16,40", "--new-tokens", "3"],
                   capture_output=True, text=True, env=env)
if r.returncode != 0:
    print(r.stdout, r.stderr)
    raise SystemExit(f"FAIL: exit {r.returncode}")
lines = [l for l in r.stdout.splitlines() if l.strip()]
assert len(lines) == 1, f"FAIL: expected one line on stdout, got {len(lines)}"
out = json.loads(lines[0])
assert set(out) == {"results"}, f"FAIL: top-level keys {sorted(out)}"
rows = out["results"]
keys = {"model": str, "prompt_len": int, "mode": str, "tokens_per_s": float, "mean_solver_steps": float}
for row in rows:
    assert set(row) == set(keys), f"FAIL: row keys {sorted(row)}"
    for k, t in keys.items():
        assert isinstance(row[k], t) or (t is float and isinstance(row[k], int)), f"FAIL: {k} = {row[k]!r}"
    assert row["mode"] in ("cached", "recompute") and row["tokens_per_s"] > 0, f"FAIL: {row}"
seen = {(r["model"], r["prompt_len"], r["mode"]) for r in rows}
want = {(m, p, mode) for m in ("standard", "looped", "deq", "attractor", "eqt") for p in (16, 40)
        for mode in ("cached", "recompute")}
assert seen == want and len(rows) == len(want), f"FAIL: rows {sorted(seen)}"
steps = {(r["model"], r["mode"]): r["mean_solver_steps"] for r in rows if r["prompt_len"] == 40}
assert steps[("standard", "cached")] == 0 and steps[("attractor", "cached")] >= 1, f"FAIL: steps {steps}"
print(f"  ok   {len(rows)} rows with the documented keys; attractor steps/token {steps[('attractor', 'cached')]:.2f}")
