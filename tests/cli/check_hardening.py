#!/usr/bin/env python3
"""Hardening, round two (issue 26), through the command line as a careless or hostile user
would meet it, each check failing on the code before the fix:
- sweeps: cells that would share a folder, repeated seeds, axes or JSON keys, and absurd
  grids are refused; a second sweep on one folder is refused; a sweep killed with kill -9
  leaves no training child behind (item 6, 7);
- run folders: a second `train --out` the same folder is refused while the first runs, a
  folder that is not a run is not overwritten, `--resume --steps` below the checkpoint's
  step is refused (items 7, 11);
- writes: `export --out` onto the run's own checkpoint is refused (item 8);
- imports: integer-typed weights, task metadata of the wrong type or size, a config that
  claims more weights than the file holds (item 9); unbounded solver knobs (item 10);
- stale results: eval with task overrides or raw weights leaves eval.json alone; a resumed
  run drops its old eval.json (item 11);
- FIFOs and devices as configs, checkpoints, specs (item 12); an empty puzzle file, a count
  of 0 (item 13).
Usage: check_hardening.py EQT_BINARY SOURCE_DIR"""
import json, os, shutil, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

eqt, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "python"))
import eqt_safetensors  # noqa: E402
import torch  # noqa: E402

checks = cli_check.Checks(eqt, "eqt_hard_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures


def refused(what, args, want, timeout=60):
    """eqt ARGS must exit non-zero (not by a signal), within timeout, with `want` in stderr."""
    try:
        r = subprocess.run([eqt, *args], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        check(False, f"{what}: still running after {timeout} s")
        return
    err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    check(r.returncode not in (0,) and r.returncode > 0 and want in r.stderr and "internal error" not in r.stderr,
          f"{what}: exit {r.returncode}, {err[:200]}")


def children(pid):
    """Processes whose parent is pid (any of its threads may have started them)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


tiny = ["--task", "parity", "--length", "8", "--n-train", "64", "--n-test", "32", "--batch", "8"]

# --- Sweep specs (item 6) -----------------------------------------------------------------
def spec_file(name, body):
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        f.write(body if isinstance(body, str) else json.dumps(body))
    return path
base = {"task": "parity", "families": ["standard"], "seeds": [0], "set": {"train.steps": 4}}
refused("axis values that share a folder", ["sweep", spec_file("collide", dict(base, axes=[
        {"key": "train.schedule", "values": ["a/b", "a_b"]}])), "--out", os.path.join(work, "s1"), "--dry-run"],
        "both name the cell folder")
refused("a repeated seed", ["sweep", spec_file("seeds", dict(base, seeds=[0, 0])), "--out", os.path.join(work, "s2"),
                            "--dry-run"], "twice")
refused("two axes of one key", ["sweep", spec_file("axes", dict(base, axes=[{"key": "task.length", "values": [4]},
                                                                          {"key": "task.length", "values": [6]}])),
                                "--out", os.path.join(work, "s3"), "--dry-run"], "two axes named 'length'")
refused("a JSON key given twice", ["sweep", spec_file("dupkey", '{"task": "parity", "families": ["standard"], '
                                   '"seeds": [0], "seeds": [1]}'), "--out", os.path.join(work, "s4"), "--dry-run"],
        "the key 'seeds' appears twice")
t0 = time.time()
refused("a grid of 2 million runs", ["sweep", spec_file("huge", dict(base, axes=[
        {"key": "task.length", "values": list(range(1, 2001))}, {"key": "train.lr", "values": [i * 1e-5 for i in range(1, 1001)]}])),
        "--out", os.path.join(work, "s5"), "--dry-run"], "at most 100000", timeout=30)
check(time.time() - t0 < 30, f"... refused in {time.time() - t0:.1f} s")

# Two sweeps on one folder; a sweep killed with kill -9 takes its training child with it.
smoke = os.path.join(src, "experiments", "smoke.json")
sw_out = os.path.join(work, "sweep")
first = subprocess.Popen([eqt, "sweep", smoke, "--out", sw_out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=env)
kid = None
deadline = time.time() + 60
while time.time() < deadline and kid is None:
    ks = children(first.pid)
    kid = ks[0] if ks else None
    time.sleep(0.05)
check(kid is not None, "the sweep started a child")
refused("a second sweep on the same folder", ["sweep", smoke, "--out", sw_out], "in use by another eqt process")
first.send_signal(signal.SIGKILL)
first.wait()
gone = False
deadline = time.time() + 30
while time.time() < deadline:
    try:
        os.kill(kid, 0)
        stat = open(f"/proc/{kid}/stat").read().split(")")[1].split()[0]
        if stat == "Z":  # exited, waiting to be reaped by init
            gone = True
            break
    except (ProcessLookupError, OSError):
        gone = True
        break
    time.sleep(0.1)
check(gone, f"after kill -9 of the sweep its child (pid {kid}) is gone within 30 s")
if not gone:
    os.kill(kid, signal.SIGKILL)

# --- Run folders (items 7, 11) -----------------------------------------------------------
a = os.path.join(work, "a")
p = subprocess.Popen([eqt, "train", "--model", "standard", *tiny, "--steps", "3000", "--out", a],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
deadline = time.time() + 60
while time.time() < deadline and not os.path.exists(os.path.join(a, "metrics.jsonl")):
    time.sleep(0.05)
refused("a second train into a folder being trained", ["train", "--model", "standard", *tiny, "--steps", "4",
                                                       "--out", a], "in use by another eqt process")
refused("a resume of a folder being trained", ["train", "--out", a, "--resume"], "in use by another eqt process")
p.send_signal(signal.SIGINT)  # the trainer checkpoints and stops
p.communicate(timeout=60)
r = run("train", "--out", a, "--resume", "--steps", "3000", ok=False)
check("in use" not in r.stderr, "the lock is gone with its holder: --resume proceeds")
refused("--resume --steps below the checkpoint's step", ["train", "--out", a, "--resume", "--steps", "3"],
        "already at step")
check(json.load(open(os.path.join(a, "config.json")))["train"]["steps"] == 3000, "config.json keeps steps 3000")

notrun = os.path.join(work, "notrun")
os.makedirs(notrun)
with open(os.path.join(notrun, "config.json"), "w") as f:
    f.write("my own file\n")
refused("training into a folder that is not a run", ["train", "--model", "standard", *tiny, "--steps", "2",
                                                     "--out", notrun], "not a run")
check(open(os.path.join(notrun, "config.json")).read() == "my own file\n", "... and its config.json is untouched")

b = os.path.join(work, "b")
run("train", "--model", "attractor", *tiny, "--steps", "4", "--out", b)
run("eval", "--run", b, "--json")
own = open(os.path.join(b, "eval.json")).read()
o = json.loads(run("eval", "--run", b, "--json", "--length", "4", "--n-test", "16").stdout)
check(open(os.path.join(b, "eval.json")).read() == own and os.path.exists(os.path.join(b, "eval.task.json")),
      "eval with task overrides writes eval.task.json, eval.json is unchanged")
check(o.get("task_overrides", {}).get("length") == 4, "... and records its overrides")
run("eval", "--run", b, "--json", "--raw-weights")
check(open(os.path.join(b, "eval.json")).read() == own, "eval --raw-weights leaves eval.json unchanged")
run("train", "--out", b, "--resume", "--steps", "6")
check(not os.path.exists(os.path.join(b, "eval.json")), "a resumed run removes its stale eval.json")

# --- Writes (item 8) ---------------------------------------------------------------------
b_copy = os.path.join(work, "b_copy")  # a copy, so that a failure here does not spoil the checks below
shutil.copytree(b, b_copy)
refused("export onto the run's own checkpoint", ["export", "--run", b_copy, "--out",
                                                 os.path.join(b_copy, "checkpoint.eqt")], "its own input")
check(run("eval", "--run", b_copy, "--json", ok=False).returncode == 0, "... and the run still loads")

# --- Imports (items 9, 10) ---------------------------------------------------------------
good = os.path.join(work, "b.safetensors")
run("export", "--run", b, "--out", good)
meta, tensors = eqt_safetensors.load(good)
def variant(name, meta_change=None, tensor_change=None):
    m, t = dict(meta), dict(tensors)
    if meta_change: meta_change(m)
    if tensor_change: tensor_change(t)
    path = os.path.join(work, name + ".safetensors")
    eqt_safetensors.save(path, t, metadata=m)
    return path
def as_int32(t):
    k = next(n for n in t if t[n].dim() == 2)
    t[k] = t[k].contiguous().view(torch.int32)  # the same bytes, labelled I32
refused("float weights labelled I32", ["import", variant("i32", tensor_change=as_int32), "--out",
                                       os.path.join(work, "i1")], "of type Int")
def task_meta(**kw):
    def change(m):
        t = json.loads(m["eqt.task"]); t.update(kw); m["eqt.task"] = json.dumps(t)
    return change
refused("task metadata of the wrong type", ["import", variant("tt", task_meta(length="8")), "--out",
                                            os.path.join(work, "i2")], "'length' = \"8\"")
refused("an unknown task", ["import", variant("tn", task_meta(name="chess")), "--out", os.path.join(work, "i3")],
        "unknown task 'chess'")
refused("an absurd task size", ["import", variant("ts", task_meta(n_train=10 ** 13)), "--out",
                                os.path.join(work, "i4")], "'n_train'")
def wide(m):
    c = json.loads(m["eqt.model"]); c["block"]["d_model"] = 65536; m["eqt.model"] = json.dumps(c)
refused("d_model 65536 in a small file", ["import", variant("wide", wide), "--out", os.path.join(work, "i5")],
        "describes at least", timeout=30)
check(not os.path.exists(os.path.join(work, "i5")), "a refused import leaves no folder behind")
refused("eval --solver window=1e9", ["eval", "--run", b, "--solver", "window=1000000000"], "window")
refused("eval --solver max_iter=1e9", ["eval", "--run", b, "--solver", "eval_max_iter=1000000000"], "max_iter")

# --- FIFOs and devices (item 12), empty puzzle files and counts (item 13) ------------------
fifo = os.path.join(work, "fifo")
os.mkfifo(fifo)
for what, args in [("generate --checkpoint FIFO", ["generate", "--checkpoint", fifo, "--prompt", "a"]),
                   ("train --config FIFO", ["train", "--model", "standard", "--config", fifo, "--out",
                                            os.path.join(work, "f1")]),
                   ("info --config FIFO", ["info", "--model", "standard", "--config", fifo]),
                   ("sweep FIFO --dry-run", ["sweep", fifo, "--out", os.path.join(work, "f2"), "--dry-run"]),
                   ("import --config FIFO", ["import", good, "--from", "attractor-reference", "--config", fifo,
                                             "--out", os.path.join(work, "f3")])]:
    refused(what, args, "not a regular file", timeout=20)
refused("info --config /dev/zero", ["info", "--model", "standard", "--config", "/dev/zero"], "not a regular file",
        timeout=20)
empty = os.path.join(work, "empty.txt")
open(empty, "w").close()
refused("an empty puzzle file", ["train", "--model", "standard", "--task", "sudoku", "--data", empty, "--out",
                                  os.path.join(work, "e1")], "holds no puzzles")
refused("sudoku generate --count 0", ["sudoku", "generate", "--count", "0", "--out", os.path.join(work, "p.txt")],
        "expected a number in [1, 10000000]")

checks.finish()
