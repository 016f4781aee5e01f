"""What every `eqt bench ... --json` check needs: run the real binary, require exactly one
JSON object on stdout with exactly the expected top-level keys, and check rows' keys and types."""
import json
import os
import re
import subprocess

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def require(cond, what="a check failed"):
    """Like assert, but not removed by python3 -O."""
    if not cond:
        raise SystemExit(f"FAIL: {what}")


def choices(eqt, flag):
    """The choices `eqt train --help` lists for flag (--model, --task), in the binary's order."""
    h = subprocess.run([eqt, "train", "--help"], capture_output=True, text=True, env=ENV).stdout
    m = re.search(flag + r" TEXT:\{([^}]*)\}", h)
    require(m is not None, f"`eqt train --help` names no {flag} choices")
    return m.group(1).split(",")


def families(eqt):
    """The model families in the binary's own table, in its order, so that a family added to
    the table is checked here without editing a list."""
    return choices(eqt, "--model")


def decoding_families(eqt):
    """The families with incremental decoding, as `eqt bench generate --help` lists them."""
    h = subprocess.run([eqt, "bench", "generate", "--help"], capture_output=True, text=True, env=ENV).stdout
    m = re.search(r"--models TEXT:\{([^}]*)\}", h)
    require(m is not None, "`eqt bench generate --help` names no --models choices")
    return m.group(1).split(",")


def run_bench_json(eqt, args, top_keys):
    """`eqt bench ARGS` (ARGS include --json) -> the one JSON object it printed."""
    r = subprocess.run([eqt, "bench", *args], capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: exit {r.returncode}")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    require(len(lines) == 1, f"expected one line on stdout, got {len(lines)}")
    out = json.loads(lines[0])
    require(set(out) == set(top_keys), f"top-level keys {sorted(out)}")
    return out


def check_row_types(row, keys):
    """row has exactly `keys` (name -> type); an int is accepted where a float is expected."""
    require(set(row) == set(keys), f"row keys {sorted(row)}")
    for k, t in keys.items():
        require(isinstance(row[k], t) or (t is float and isinstance(row[k], int)), f"{k} = {row[k]!r}")
