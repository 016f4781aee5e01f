#!/usr/bin/python3
"""scripts/bench_freeze.py — what per-sample freezing and compaction cost or save at
inference, on trained runs: `eqt eval` of each run three ways, in one invocation:
  plain    the checkpoint's settings (no freeze: every row iterates until the batch stops);
  freeze   solver.freeze=true, solver.compact=0 (stopped rows stay in the batch, unchanged);
  compact  solver.freeze=true with compaction (stopped rows leave the batch; default 0.125).
Prints the best wall seconds of --reps evaluations, mean solver steps and token accuracy per
way, and the ratios. A benchmark, not part of the product; run it on an otherwise idle machine.
Usage: scripts/bench_freeze.py [--eqt build/eqt] [--reps 3] RUN_DIR..."""
import argparse, json, os, subprocess, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("runs", nargs="+")
ap.add_argument("--eqt", default="build/eqt")
ap.add_argument("--reps", type=int, default=3)
a = ap.parse_args()
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
ways = {"plain": [], "freeze": ["--solver", "freeze=true", "--solver", "compact=0"],
        "compact": ["--solver", "freeze=true"]}
print(f"{'run':<50} {'way':<8} {'seconds':>8} {'steps':>7} {'token acc':>10}")
for run in a.runs:
    best = {}
    for way, extra in ways.items():
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            out = subprocess.run([a.eqt, "--threads", "1", "eval", "--run", run, "--json", *extra], env=env,
                                 check=True, capture_output=True, text=True).stdout
            times.append(time.perf_counter() - t0)
        r = json.loads(out)
        best[way] = min(times)
        print(f"{run:<50} {way:<8} {best[way]:8.2f} {r['solver_steps_mean']:7.2f} {r['token_accuracy']:10.4f}")
    print(f"{run:<50} freeze / compact = {best['freeze'] / best['compact']:.2f}x, "
          f"plain / compact = {best['plain'] / best['compact']:.2f}x")
