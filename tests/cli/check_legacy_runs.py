#!/usr/bin/env python3
"""Run folders written by earlier versions still load and give their numbers.
- FIXTURES_0.1 (eqt 0.1, before the family table, eqt.reverse and the new config fields):
  `eqt eval --json` of each gives the loss and accuracies eqt 0.1's own eval wrote beside it
  (eval_0.1.json, relative error < 1e-5), and it resumes for a step.
- FIXTURES_0.2 (eqt at dfdc7f5, just before issue 27 split the config into sections and
  renamed the mean solver steps and the maze's "loops"): `eqt eval --json` equals that
  binary's (eval_before27.json) bit for bit, and one more training step, resumed, writes the
  same metrics lines (resume_before27.json) bit for bit, timings aside. The kernels are
  pinned by ctest as when the fixtures were made (OPENBLAS_CORETYPE, ATEN_CPU_CAPABILITY).
Old metric names are read as today's (mean_solver_steps -> solver_steps_mean,
val_solver_steps -> val_solver_steps_mean).
Usage: check_legacy_runs.py EQT_BINARY FIXTURES_0.1 [FIXTURES_0.2]"""
import json, os, shutil, subprocess, sys, tempfile

eqt, fixtures = sys.argv[1], sys.argv[2]
before27 = sys.argv[3] if len(sys.argv) > 3 else None
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
NEW_NAME = {"mean_solver_steps": "solver_steps_mean", "val_solver_steps": "val_solver_steps_mean"}


def runs_in(root):
    runs = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not runs:
        raise SystemExit(f"FAIL: no fixtures in {root}")
    return runs


def call(args, what):
    r = subprocess.run([eqt] + args, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: {what}: exit {r.returncode}")
    return r.stdout


def copy_run(root, name):
    tmp = tempfile.mkdtemp()
    run = os.path.join(tmp, name)
    shutil.copytree(os.path.join(root, name), run)
    return tmp, run


def upgraded(record):
    return {NEW_NAME.get(k, k): v for k, v in record.items()}


worst = 0.0
for name in runs_in(fixtures):
    tmp, run = copy_run(fixtures, name)
    old = upgraded(json.load(open(os.path.join(run, "eval_0.1.json"))))
    new = upgraded(json.loads(call(["eval", "--run", run, "--json"], f"{name}: eval")))
    for k in ("loss", "token_accuracy", "exact_accuracy", "solver_steps_mean"):
        err = abs(new[k] - old[k]) / max(1e-12, abs(old[k]))
        worst = max(worst, err)
        if not err < 1e-5:
            raise SystemExit(f"FAIL: {name}: {k} {new[k]} now, {old[k]} from eqt 0.1 (rel err {err:.2e})")
    steps = json.load(open(os.path.join(run, "config.json")))["train"]["steps"]
    call(["train", "--resume", "--out", run, "--steps", str(steps + 1)], f"{name}: resume")
    # eqt compare reads a run's eval.json as written: one of eqt 0.1's, with the metric's old
    # name (mean_solver_steps), must show its solver steps, not 0 or nan.
    shutil.copy(os.path.join(fixtures, name, "eval_0.1.json"), os.path.join(run, "eval.json"))
    table = call(["compare", run], f"{name}: compare")
    want = f"{old['solver_steps_mean']:.2f}"
    row = [l for l in table.splitlines() if l.rstrip().endswith(run)]
    if len(row) != 1 or want not in row[0].split():
        raise SystemExit(f"FAIL: {name}: compare does not show eqt 0.1's solver steps {want}:\n{table}")
    print(f"  ok   {name}: eval equals eqt 0.1's (loss {new['loss']:.6f}), resumed one step, "
          f"compare reads its eval.json (solver steps {want})")
    shutil.rmtree(tmp)
print(f"eqt 0.1 runs: worst relative difference {worst:.2e} (limit 1e-5)")

if before27:
    TIMINGS = {"ms", "tok_per_s", "peak_mb"}  # wall time, and the allocator's bytes (not a model number)
    for name in runs_in(before27):
        tmp, run = copy_run(before27, name)
        old = upgraded(json.load(open(os.path.join(run, "eval_before27.json"))))
        new = upgraded(json.loads(call(["eval", "--run", run, "--json"], f"{name}: eval")))
        for k in ("loss", "token_accuracy", "exact_accuracy", "solver_steps_mean", "breakdown"):
            if new[k] != old[k]:
                raise SystemExit(f"FAIL: {name}: eval {k} = {new[k]!r} now, {old[k]!r} before issue 27")
        # The version before wrote the lines of the resumed step with the old metric names.
        want = [upgraded(json.loads(l)) for l in open(os.path.join(run, "resume_before27.json")) if l.strip()]
        call(["train", "--resume", "--out", run, "--steps", "4"], f"{name}: resume")
        got = [upgraded(json.loads(l)) for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()]
        got = [g for g in got if g.get("step") == 4]
        if len(got) != len(want):
            raise SystemExit(f"FAIL: {name}: {len(got)} metrics lines for the resumed step, {len(want)} before")
        for g, w in zip(got, want):
            g = {k: v for k, v in g.items() if k not in TIMINGS}
            w = {k: v for k, v in w.items() if k not in TIMINGS}
            if g != w:
                raise SystemExit(f"FAIL: {name}: resumed step's metrics differ:\n  now    {g}\n  before {w}")
        print(f"  ok   {name}: eval (loss {new['loss']!r}) and the resumed step (loss {got[0].get('loss')!r}) "
              f"equal the version before issue 27 bit for bit")
        shutil.rmtree(tmp)
    print(f"runs from before issue 27: {len(runs_in(before27))} equal bit for bit")
