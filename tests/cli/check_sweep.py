#!/usr/bin/env python3
"""`eqt sweep` end to end on experiments/smoke.json (8 runs of 40 steps): killed (with its
running child) right after its first run finished and started again, it skips that run,
resumes the others and writes results.json (one row per run, every eval key plus the cell,
seed, time and memory), results.md (mean ± std per cell) and SVG plots; a different spec
in the same folder and malformed specs are refused by name; --only selects runs by folder
pattern.
Usage: check_sweep.py EQT_BINARY SOURCE_DIR"""
import json, os, signal, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

eqt, src = sys.argv[1], sys.argv[2]
checks = cli_check.Checks(sys.argv[1], "eqt_sweep_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures
spec = os.path.join(src, "experiments", "smoke.json")
out = os.path.join(work, "sweep")


# First attempt: killed, with its process group (the training child too), as soon as one
# run has finished.
p = subprocess.Popen([eqt, "sweep", spec, "--out", out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                     env=env, start_new_session=True)
first = None
for line in p.stdout:
    if "[1/8]" in line:
        first = line.split("] ")[1].split(" in ")[0]
        os.killpg(p.pid, signal.SIGKILL)
        break
p.wait()
check(first is not None, f"the first run finished before the kill: {first}")
row1 = os.path.join(out, first, "sweep_row.json")
mtime = os.path.getmtime(row1)

r = subprocess.run([eqt, "sweep", spec, "--out", out], capture_output=True, text=True, env=env)
print(r.stdout[-1500:], r.stderr[-800:])
check(r.returncode == 0, f"the second attempt finishes: exit {r.returncode}")
check("1 finished, 7 to run" in r.stdout, "it counts the finished run and runs the 7 others")
check(f"start {first} " not in r.stdout and os.path.getmtime(row1) == mtime, f"{first} is skipped, its record untouched")
rows = json.load(open(os.path.join(out, "results.json")))
check(len(rows) == 8, f"results.json has 8 rows ({len(rows)})")
keys = {"token_accuracy", "exact_accuracy", "loss", "solver_steps_mean", "params_total", "family", "cell", "seed",
        "train_seconds", "peak_rss_mb", "peak_tensor_mb", "by_solver_steps", "point"}
check(all(keys <= set(row) for row in rows), f"every row has {sorted(keys)}")
check(sorted({(row["family"], row["cell"], row["seed"]) for row in rows}) ==
      sorted((f, f"length={L}", s) for f in ["standard", "attractor"] for L in [6, 10] for s in [0, 1]),
      "one row per family x length x seed")
att = [row for row in rows if row["family"] == "attractor"]
check(all(row["by_solver_steps"][0]["solver_steps_mean"] == 0 for row in att), "cap 0 runs no solver step")
md = open(os.path.join(out, "results.md")).read()
check("8 of 8 runs finished" in md and "| length=10 | attractor | 2 |" in md and " ± " in md,
      "results.md has a row per cell with mean ± std over 2 seeds")
for svg in ["plot_token_accuracy_vs_length.svg", "plot_peak_tensor_mb_vs_length.svg", "internalisation_length=6.svg"]:
    path = os.path.join(out, svg)
    check(os.path.exists(path) and open(path).read().startswith("<svg"), f"{svg} written")

# --only: a subset of the grid by run-folder pattern (the README's main job uses it).
r = subprocess.run([eqt, "sweep", spec, "--out", os.path.join(work, "subset"), "--dry-run",
                    "--only", "standard/length=6/seed0", "--only", "attractor/*/seed1"], capture_output=True, text=True, env=env)
listed = sorted(line.split()[1] for line in r.stdout.splitlines() if line[:3].strip().isdigit())
check(r.returncode == 0 and listed == ["attractor/length=10/seed1", "attractor/length=6/seed1", "standard/length=6/seed0"],
      f"--only keeps exactly the matching runs: {listed}")
r = subprocess.run([eqt, "sweep", spec, "--out", out, "--only", "standard/length=6/seed0"], capture_output=True, text=True, env=env)
check(r.returncode == 0 and "1 runs (--only): 1 finished, 0 to run" in r.stdout,
      "--only on a finished sweep runs nothing: " + r.stdout.strip()[:200])
r = subprocess.run([eqt, "sweep", spec, "--out", out, "--only", "deq/*"], capture_output=True, text=True, env=env)
check(r.returncode == 2 and "--only matches none" in r.stderr, "a pattern matching no run is refused: " + r.stderr.strip())
r = subprocess.run([eqt, "sweep", spec, "--out", out], capture_output=True, text=True, env=env)
check(r.returncode == 0 and "8 of 8 runs finished" in open(os.path.join(out, "results.md")).read(),
      "after an --only invocation the full sweep's report holds every run again")

# The same folder with another spec is refused; so are malformed specs, by name.
other = os.path.join(work, "other.json")
s = json.load(open(spec))
s["seeds"] = [5]
json.dump(s, open(other, "w"))
r = subprocess.run([eqt, "sweep", other, "--out", out], capture_output=True, text=True, env=env)
check(r.returncode != 0 and "another spec" in r.stderr, "a different spec in the same folder is refused: " + r.stderr.strip())
for name, patch, want in [("family", {"families": ["standard", "transformer9"]}, "transformer9"),
                          ("seed", {"seeds": [-1]}, "seeds"),
                          ("field", {"sedes": [1]}, "sedes"),
                          ("axis", {"axes": [{"key": "task.length"}]}, "axes")]:
    bad = dict(json.load(open(spec)), **patch)
    path = os.path.join(work, f"bad_{name}.json")
    json.dump(bad, open(path, "w"))
    r = subprocess.run([eqt, "sweep", path, "--out", os.path.join(work, "bad")], capture_output=True, text=True, env=env)
    check(r.returncode == 2 and want in r.stderr, f"bad {name}: {r.stderr.strip()}")

checks.finish()
