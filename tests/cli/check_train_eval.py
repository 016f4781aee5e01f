#!/usr/bin/env python3
"""End to end through the command line, on tiny runs: train, eval --json (exactly one JSON
object with the documented keys), the internalisation sweep, plot, compare, resume, and the
errors a user meets (an existing run folder, a bad cap, a non-UTF-8 text file).
Usage: check_train_eval.py EQT_BINARY"""
import json, os, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

eqt = sys.argv[1]
checks = cli_check.Checks(sys.argv[1], "eqt_cli_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures


tiny = ["--task", "parity", "--length", "8", "--n-train", "64", "--n-test", "32", "--batch", "8"]
att, std = os.path.join(work, "att"), os.path.join(work, "std")
run("train", "--model", "attractor", *tiny, "--steps", "4", "--out", att)
run("train", "--model", "standard", *tiny, "--steps", "4", "--out", std)

out = run("eval", "--run", att, "--json").stdout
lines = [l for l in out.splitlines() if l.strip()]
check(len(lines) == 1, "eval --json prints exactly one line")
r = json.loads(lines[0])
keys = {"task", "model", "params_total", "token_accuracy", "exact_accuracy", "perplexity", "bits_per_byte",
        "solver_steps_mean", "breakdown"}
check(keys <= set(r), f"eval --json has {sorted(keys)}")
check(len(r["breakdown"]) == 8 and "length" in r["breakdown"][0], "parity breakdown has one row per length")

sweep = json.loads(run("eval", "--run", att, "--solver-steps", "0,2,max", "--json").stdout)
caps = [row["solver_steps_cap"] for row in sweep["by_solver_steps"]]
check(caps == ["0", "2", "max"], f"by_solver_steps caps {caps}")
check(sweep["by_solver_steps"][0]["solver_steps_mean"] == 0, "cap 0 uses no solver step")
check(sweep["by_solver_steps"][1]["solver_steps_mean"] <= 2, "cap 2 uses at most 2 steps")

run("plot", att)
for name in ["loss", "solver_steps", "residual", "internalisation"]:
    path = os.path.join(att, name + ".svg")
    check(os.path.exists(path) and open(path).read().startswith("<svg"), f"plot wrote {name}.svg")

table = run("compare", std, att).stdout
check("standard" in table and "attractor" in table, "compare prints both runs")
check("cap 0" in table and "cap max" in table, "compare prints the attractor's internalisation curve")

again = run("train", "--model", "attractor", *tiny, "--steps", "4", "--out", att, ok=False)
check(again.returncode != 0 and "already holds a run" in again.stderr, "an existing run folder is not overwritten")
run("train", "--model", "attractor", "--out", att, "--resume", "--steps", "6")
steps = [json.loads(l)["step"] for l in open(os.path.join(att, "metrics.jsonl")) if '"loss"' in l]
check(steps[-1] == 6, f"--resume continues to step 6 (last logged {steps[-1]})")

bad = run("eval", "--run", att, "--solver-steps", "2,abc", ok=False)
check(bad.returncode != 0 and "'abc'" in bad.stderr, "a bad cap is named: " + bad.stderr.strip())

# --solver KEY=VALUE: inference solver settings over the checkpoint's, recorded in the
# output and written beside (not over) the run's own eval.json.
base = json.loads(run("eval", "--run", att, "--json").stdout)
own = open(os.path.join(att, "eval.json")).read()
fr = json.loads(run("eval", "--run", att, "--solver", "freeze=true", "--solver", "eval_tol=0.5",
                    "--solver", "method=picard", "--solver", "eval_min_iter=0", "--json").stdout)
check(fr["solver_overrides"] == {"freeze": True, "eval_tol": 0.5, "method": "picard", "eval_min_iter": 0},
      f"eval --solver records its settings: {fr.get('solver_overrides')}")
check(fr["solver_steps_mean"] < base["solver_steps_mean"], "a loose eval_tol without a minimum stops the solver earlier: "
      f"{fr['solver_steps_mean']} vs {base['solver_steps_mean']} steps")
check(os.path.exists(os.path.join(att, "eval.solver.json")) and open(os.path.join(att, "eval.json")).read() == own,
      "eval --solver writes eval.solver.json and leaves eval.json alone")
for arg, named in [("no_such=1", "solver.no_such"), ("freeze", "KEY=VALUE"), ("compact=2", "compact"),
                   ("method=newton", "newton")]:
    bad = run("eval", "--run", att, "--solver", arg, ok=False)
    check(bad.returncode != 0 and named in bad.stderr, f"--solver {arg} is refused naming {named}: " + bad.stderr.strip()[-200:])

text = os.path.join(work, "latin1.txt")
with open(text, "wb") as f:
    f.write(b"line one\nline two caf\xe9\n" * 100)
bad = run("train", "--model", "standard", "--task", "text", "--data", text, "--seq-len", "16", "--steps", "1",
          "--out", os.path.join(work, "txt"), ok=False)
check(bad.returncode != 0 and f"{text}:2:13:" in bad.stderr, "non-UTF-8 text is named with line and column: " +
      bad.stderr.strip())

# Every number a user gives is applied or refused by name, never replaced by the preset's.
for flag, value in [("--lr", "-1"), ("--lr", "0"), ("--lr", "nan"), ("--steps", "0"), ("--steps", "-5"),
                    ("--batch", "0"), ("--length", "0"), ("--n-train", "-5"), ("--seed", "-1")]:
    bad = run("train", "--model", "standard", "--task", "parity", flag, value, "--dry-run",
              "--out", os.path.join(work, "flags"), ok=False)
    said = (bad.stderr.strip().splitlines() or ["(nothing)"])[0]
    check(bad.returncode != 0 and flag in bad.stderr and value in bad.stderr, f"{flag} {value} is refused by name: {said}")
applied = run("train", "--model", "standard", "--task", "parity", "--lr", "0.0007", "--steps", "3", "--dry-run",
              "--out", os.path.join(work, "flags")).stdout
check('"lr": 0.0007' in applied and '"steps": 3' in applied, "given --lr and --steps appear in the resolved config")
bad = run("train", "--out", att, "--resume", "--length", "12", ok=False)
check(bad.returncode != 0 and "--resume" in bad.stderr, "--resume refuses a task flag it would ignore: " +
      bad.stderr.strip())

# A run whose evaluation gave NaN (JSON null) still has its row in the table.
nan_run = os.path.join(work, "nan_run")
os.makedirs(nan_run)
r = json.load(open(os.path.join(std, "eval.json")))
r["loss"] = r["perplexity"] = r["bits_per_byte"] = None
json.dump(r, open(os.path.join(nan_run, "eval.json"), "w"))
table = run("compare", std, nan_run, ok=False)
check(table.returncode == 0 and "nan" in table.stdout, "compare shows a NaN eval as nan: " + table.stderr.strip())

# Config files that are wrong in content or shape get a named error, never a crash or an
# "internal error" with a backtrace.
for name, text, want in [("init", '{"model": {"block": {"init_std": -1}}}', "block.init_std"),
                         ("mlp", '{"model": {"block": {"mlp_mult": 0}}}', "block.mlp_mult"),
                         ("deep", "[" * 50000 + "]" * 50000, "nested deeper than")]:
    path = os.path.join(work, f"bad_{name}.json")
    open(path, "w").write(text)
    bad = run("train", "--model", "standard", "--task", "parity", "--config", path, "--dry-run",
              "--out", os.path.join(work, "cfg"), ok=False)
    said = (bad.stderr.strip().splitlines() or ["(nothing)"])[0]
    check(bad.returncode == 2 and want in bad.stderr and "internal error" not in bad.stderr,
          f"config {name}: exit {bad.returncode}, {said[:160]}")

# An endless "file" is refused up front instead of read until memory runs out.
for task, extra in [("text", ["--seq-len", "16"]), ("sudoku", [])]:
    bad = run("train", "--model", "standard", "--task", task, "--data", "/dev/zero", *extra, "--steps", "1",
              "--out", os.path.join(work, "zero_" + task), ok=False)
    check(bad.returncode != 0 and "/dev/zero" in bad.stderr and "not a regular file" in bad.stderr,
          f"--data /dev/zero ({task}) is refused: " + bad.stderr.strip())

# A trained Sudoku run scores a user's puzzle file (81-character lines, '.' blanks, no
# solutions): every puzzle of it, and the run's own eval.json stays as it was.
sud = os.path.join(work, "sudoku")
run("train", "--model", "standard", "--task", "sudoku", "--n-train", "20", "--n-test", "4", "--batch", "4",
    "--steps", "2", "--out", sud)
own = open(os.path.join(sud, "eval.json")).read() if os.path.exists(os.path.join(sud, "eval.json")) else None
gen = os.path.join(work, "gen.txt")
run("sudoku", "generate", "--count", "12", "--seed", "3", "--out", gen)
puzzles = os.path.join(work, "mine.txt")
with open(gen) as f, open(puzzles, "w") as g:
    g.writelines(line.split(",")[0] + "\n" for line in f if line.strip())
r = json.loads(run("eval", "--run", sud, "--data", puzzles, "--json").stdout)
scored = sum(b["puzzles"] for b in r["breakdown"])
check(scored == 12 and r["test_data"] == puzzles and 0 <= r["exact_accuracy"] <= 1,
      f"eval --data scores all 12 puzzles of the file: {scored}, exact {r['exact_accuracy']}")
check(os.path.exists(os.path.join(sud, "eval.mine.json")), "eval --data writes eval.mine.json")
check((open(os.path.join(sud, "eval.json")).read() if own is not None else None) == own,
      "the run's own eval.json is untouched")
bad = run("eval", "--run", sud, "--data", os.path.join(work, "missing.txt"), ok=False)
check(bad.returncode != 0 and "missing.txt" in bad.stderr, "a missing puzzle file is named: " + bad.stderr.strip())
bad = run("eval", "--run", att, "--data", puzzles, ok=False)
check(bad.returncode != 0 and "puzzle file" in bad.stderr, "--data on a parity run is refused: " + bad.stderr.strip())

# Devices and precision (issue 16): the flags exist, a bf16 run trains and records its
# precision, and a device this machine lacks or a precision eqt lacks is refused by name.
helptext = run("train", "--help").stdout
check("--device" in helptext and "--precision" in helptext, "train --help lists --device and --precision")
bf = os.path.join(work, "bf16")
run("train", "--model", "attractor", *tiny, "--steps", "3", "--precision", "bf16", "--out", bf)
check('"precision": "bf16"' in open(os.path.join(bf, "config.json")).read(), "a bf16 run records its precision")
r = json.loads(run("eval", "--run", bf, "--json", "--device", "cpu").stdout)
check(r["loss"] > 0, "the bf16 run evaluates on the CPU")
bad = run("train", "--model", "standard", *tiny, "--steps", "1", "--precision", "fp16", "--out", os.path.join(work, "fp16"), ok=False)
check(bad.returncode != 0 and "fp16" in bad.stderr, "--precision fp16 is refused: " + bad.stderr.strip())
bad = run("train", "--model", "standard", *tiny, "--steps", "1", "--device", "cuda:7", "--out", os.path.join(work, "gpu"), ok=False)
check(bad.returncode != 0 and "cuda:7" in bad.stderr, "a missing GPU is refused by name: " + bad.stderr.strip())

# --init-from (issue 17): a new run starts from another run's EMA weights with a new
# optimizer; with a learning rate of ~0 it evaluates as the run it came from. Another
# family or another width is refused, naming the run and the tensor.
fin = os.path.join(work, "finetune")
run("train", *tiny, "--init-from", att, "--steps", "1", "--lr", "1e-12", "--out", fin)
a0 = json.loads(run("eval", "--run", att, "--json").stdout)
a1 = json.loads(run("eval", "--run", fin, "--json").stdout)
check(a1["model"] == "attractor" and abs(a0["loss"] - a1["loss"]) < 1e-5,
      f"--init-from starts from the run's weights: loss {a0['loss']} vs {a1['loss']}")
check(json.load(open(os.path.join(fin, "config.json"))).get("init_from") == att, "config.json records where the weights came from")
bad = run("train", "--model", "standard", *tiny, "--init-from", att, "--steps", "1", "--out", os.path.join(work, "fin2"), ok=False)
check(bad.returncode != 0 and "attractor" in bad.stderr and "--model standard" in bad.stderr,
      "--init-from with another family is refused: " + bad.stderr.strip())
wide_cfg = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "configs", "attractor-parity.json")))
wide_cfg["model"]["block"]["d_model"] = 32
wide = os.path.join(work, "wide.json")
json.dump(wide_cfg, open(wide, "w"))
bad = run("train", *tiny, "--config", wide, "--init-from", att, "--steps", "1", "--out", os.path.join(work, "fin3"), ok=False)
check(bad.returncode != 0 and "embed.table" in bad.stderr and att in bad.stderr,
      "--init-from into another width names the tensor: " + bad.stderr.strip())
bad = run("train", "--task", "text", "--init-from", att, "--steps", "1", "--out", os.path.join(work, "fin5"), ok=False)
check(bad.returncode != 0 and "256" in bad.stderr and "vocabulary" in bad.stderr,
      "--init-from a parity run into the text task is refused: " + bad.stderr.strip())
bad = run("train", *tiny, "--init-from", os.path.join(work, "nowhere"), "--steps", "1", "--out", os.path.join(work, "fin4"), ok=False)
check(bad.returncode != 0 and "nowhere" in bad.stderr, "--init-from a missing run is named: " + bad.stderr.strip())

checks.finish()
