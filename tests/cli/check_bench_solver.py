"""End-to-end check of `eqt bench solver --json` (issue 2's acceptance figures).

Runs the real binary, requires exactly one JSON object on stdout, and checks:
Anderson f-evaluations on linear-0.95 <= 0.5 x plain iteration's; IFT peak memory at the
largest iteration count <= 1.2 x its peak at the smallest; unrolled grows >= 3x.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_json import run_bench_json, require  # noqa: E402


exe = sys.argv[1]
doc = run_bench_json(exe, ["solver", "--json"], {"solvers", "memory"})

for row in doc["solvers"]:
    require(isinstance(row["problem"], str) and isinstance(row["solver"], str))
    require(isinstance(row["fevals"], int) and isinstance(row["residual"], float))
    require(isinstance(row["ms"], float))
problems = {r["problem"] for r in doc["solvers"]}
require({"linear-0.5", "linear-0.95", "tanh-net"} <= problems, problems)

fe = {(r["problem"], r["solver"]): r["fevals"] for r in doc["solvers"]}
ratio = fe[("linear-0.95", "anderson")] / fe[("linear-0.95", "picard")]
print(f"linear-0.95 fevals: anderson {fe[('linear-0.95', 'anderson')]}, picard {fe[('linear-0.95', 'picard')]}, ratio {ratio:.3f}")
ok = ratio <= 0.5

mem = {}
for r in doc["memory"]:
    require(r["mode"] in ("ift", "unrolled", "onestep") and isinstance(r["peak_bytes"], int))
    mem.setdefault(r["mode"], {})[r["iters"]] = r["peak_bytes"]
for mode, by_iters in sorted(mem.items()):
    lo, hi = min(by_iters), max(by_iters)
    print(f"{mode:9s} peak {by_iters[lo]} B at {lo} iters, {by_iters[hi]} B at {hi} iters: x{by_iters[hi] / by_iters[lo]:.2f}")
ift = mem["ift"]
unr = mem["unrolled"]
ok &= ift[max(ift)] <= 1.2 * ift[min(ift)]
ok &= unr[max(unr)] >= 3 * unr[min(unr)]
print("bench solver figures: " + ("OK" if ok else "FAIL"))
sys.exit(0 if ok else 1)
