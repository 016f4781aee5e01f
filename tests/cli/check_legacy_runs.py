#!/usr/bin/env python3
"""Run folders written by eqt 0.1 (before the family table, eqt.reverse and the new config
fields) still load: `eqt eval --json` of each fixture in tests/fixtures/legacy-0.1/ gives the
loss and accuracies that eqt 0.1's own eval wrote beside it (eval_0.1.json), and it can be
resumed for a step. The fixtures were made by scripts in their README with eqt 0.1's binary.
Usage: check_legacy_runs.py EQT_BINARY FIXTURE_DIR"""
import json, os, shutil, subprocess, sys, tempfile

eqt, fixtures = sys.argv[1], sys.argv[2]
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
worst = 0.0
runs = sorted(d for d in os.listdir(fixtures) if os.path.isdir(os.path.join(fixtures, d)))
assert runs, f"FAIL: no fixtures in {fixtures}"
for name in runs:
    tmp = tempfile.mkdtemp()
    run = os.path.join(tmp, name)
    shutil.copytree(os.path.join(fixtures, name), run)
    old = json.load(open(os.path.join(run, "eval_0.1.json")))
    r = subprocess.run([eqt, "eval", "--run", run, "--json"], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: {name}: eval exit {r.returncode}")
    new = json.loads(r.stdout)
    for k in ("loss", "token_accuracy", "exact_accuracy", "mean_solver_steps"):
        err = abs(new[k] - old[k]) / max(1e-12, abs(old[k]))
        worst = max(worst, err)
        assert err < 1e-5, f"FAIL: {name}: {k} {new[k]} now, {old[k]} from eqt 0.1 (rel err {err:.2e})"
    r = subprocess.run([eqt, "train", "--resume", "--out", run, "--steps", str(json.load(
        open(os.path.join(run, "config.json")))["train"]["steps"] + 1)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: {name}: resume exit {r.returncode}")
    print(f"  ok   {name}: eval equals eqt 0.1's (loss {new['loss']:.6f}), resumed one step")
    shutil.rmtree(tmp)
print(f"legacy runs: worst relative difference {worst:.2e} over {len(runs)} runs (limit 1e-5)")
