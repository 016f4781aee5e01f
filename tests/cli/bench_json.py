"""What every `eqt bench ... --json` check needs: run the real binary, require exactly one
JSON object on stdout with exactly the expected top-level keys, and check rows' keys and types."""
import json
import os
import subprocess

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def run_bench_json(eqt, args, top_keys):
    """`eqt bench ARGS` (ARGS include --json) -> the one JSON object it printed."""
    r = subprocess.run([eqt, "bench", *args], capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: exit {r.returncode}")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, f"FAIL: expected one line on stdout, got {len(lines)}"
    out = json.loads(lines[0])
    assert set(out) == set(top_keys), f"FAIL: top-level keys {sorted(out)}"
    return out


def check_row_types(row, keys):
    """row has exactly `keys` (name -> type); an int is accepted where a float is expected."""
    assert set(row) == set(keys), f"FAIL: row keys {sorted(row)}"
    for k, t in keys.items():
        assert isinstance(row[k], t) or (t is float and isinstance(row[k], int)), f"FAIL: {k} = {row[k]!r}"
