#!/usr/bin/env python3
"""Every preset in configs/ (CPU) and configs/paper/ builds its task and model: `eqt train
--dry-run` parses it (unknown keys are errors), and the printed config keeps the preset's
values. Data sets are shrunk with --n-train / --n-test so the check takes seconds.
The CPU presets are built into the binary (issue 27): a copy of it in an empty folder, run
from there without --config, resolves every (model, task) exactly as --config FILE does.
Usage: check_presets.py EQT_BINARY SOURCE_DIR"""
import glob, json, os, shutil, subprocess, sys, tempfile

eqt, src = sys.argv[1], sys.argv[2]
paths = sorted(glob.glob(os.path.join(src, "configs", "*.json")) + glob.glob(os.path.join(src, "configs", "paper", "*.json")))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_json import choices  # noqa: E402
families = set(choices(eqt, "--model"))  # the binary's own tables
tasks = set(choices(eqt, "--task"))
failures, seen = [], set()


def flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flat(v, prefix + k + ".")
        else:
            yield prefix + k, v


for path in paths:
    model, task = os.path.basename(path)[:-5].split("-")
    if model not in families or task not in tasks:
        failures.append(f"{path}: name is not <model>-<task>.json")
        continue
    if "paper" not in path:
        seen.add((model, task))
    shrink = []
    if task != "text":
        shrink += ["--n-train", "4", "--n-test", "4"]
    if task == "maze":
        shrink += ["--min-path", "4"]  # generation of long paths is the slow part, not what is checked here
    cmd = [eqt, "train", "--model", model, "--task", task, "--config", path, "--out", tempfile.mkdtemp(), "--dry-run",
           *shrink]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(f"{path}: exit {r.returncode}: {r.stderr.strip()}")
        continue
    out = r.stdout[r.stdout.index("{"):]
    resolved = json.loads(out)
    preset = json.load(open(path))
    # Each model and train value of the preset is in the resolved config.
    got = dict(flat(resolved["model"]))
    for key, value in flat(preset.get("model", {})):
        if got.get(key) != value:
            failures.append(f"{path}: model.{key} = {got.get(key)!r}, preset says {value!r}")
    for key, value in preset.get("train", {}).items():
        if resolved["train"].get(key) != value:
            failures.append(f"{path}: train.{key} = {resolved['train'].get(key)!r}, preset says {value!r}")
    params = r.stdout.split(",")[1].strip()
    if "paper" not in path:
        # The built-in preset, from a binary that cannot see the source folder.
        away = tempfile.mkdtemp()
        moved = shutil.copy(eqt, os.path.join(away, "eqt"))
        b = subprocess.run([moved, "train", "--model", model, "--task", task, "--out", os.path.join(away, "run"),
                            "--dry-run", *shrink], capture_output=True, text=True, cwd=away)
        builtin = json.loads(b.stdout[b.stdout.index("{"):]) if b.returncode == 0 and "{" in b.stdout else None
        if builtin is None:
            failures.append(f"{path}: a moved binary without --config: exit {b.returncode}: {b.stderr.strip()}")
        else:
            for r_ in (resolved, builtin):  # where the data files are is not the preset
                r_["task"].pop("data", None)
            if builtin != resolved:
                failures.append(f"{path}: a moved binary without --config resolves differently: "
                                f"{sorted({f'{k}={v}' for k, v in flat(builtin)} ^ {f'{k}={v}' for k, v in flat(resolved)})[:4]}")
        shutil.rmtree(away)
    print(f"  ok {os.path.relpath(path, src)}: {params}")

missing = sorted({(m, t) for m in families for t in tasks} - seen)
if missing:
    failures.append("no CPU preset for " + ", ".join(f"{m}-{t}" for m, t in missing))
for f in failures:
    print("FAIL", f)
print(f"{len(paths)} presets checked, {len(failures)} failures")
sys.exit(1 if failures else 0)
