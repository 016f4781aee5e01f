#!/usr/bin/env python3
"""`eqt bench train --json` prints exactly one JSON object {"gemm_gflops": x, "results": [...]}
with one row per family, exactly the documented keys, standard first with ratio 1, every
ratio equal to its ms/step over standard's, and the FLOP time = the step's counted GFLOP at
the GEMM rate, x FLOP time = ms/step over it. Speed is not asserted (shared, noisy machines): the benchmark
prints figures. A family list without standard still measures standard (the ratios' unit).
Usage: check_bench_train.py EQT_BINARY"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_json import check_row_types, families, run_bench_json, require  # noqa: E402


eqt = sys.argv[1]


def bench(*extra):
    args = ["train", "--json", "--steps", "2", "--warmup", "1", "--batch", "8", *extra]
    out = run_bench_json(eqt, args, {"gemm_gflops", "results"})
    require(out["gemm_gflops"] > 0, f"gemm rate {out['gemm_gflops']}")
    for r in out["results"]:
        flop_ms = r["gflop_per_step"] / out["gemm_gflops"] * 1e3
        require(r["gflop_per_step"] > 0 and abs(r["flop_ms_per_step"] - flop_ms) < 1e-9 * flop_ms, f"FLOP time {r}")
        require(abs(r["x_flop_time"] - r["ms_per_step"] / flop_ms) < 1e-9 * r["x_flop_time"], f"x FLOP time {r}")
    return out["results"]


rows = bench("--task", "parity")
keys = {"model": str, "task": str, "device": str, "precision": str, "params": int, "batch": int, "ms_per_step": float, "tokens_per_s": float,
        "solver_steps_mean": float, "supervision": int, "peak_bytes": int, "ratio_to_standard": float,
        "gflop_per_step": float, "flop_ms_per_step": float, "x_flop_time": float}
for row in rows:
    check_row_types(row, keys)
    require(row["task"] == "parity" and row["ms_per_step"] > 0 and row["batch"] == 8 and row["peak_bytes"] > 0, row)
models = [r["model"] for r in rows]
require(models == families(eqt), f"models {models}, the family table {families(eqt)}")
std = rows[0]["ms_per_step"]
for r in rows:
    want = r["ms_per_step"] / std
    require(abs(r["ratio_to_standard"] - want) < 1e-9 * max(1.0, want), f"ratio {r}")
by = {r["model"]: r for r in rows}
require(by["standard"]["solver_steps_mean"] == 0 and by["attractor"]["solver_steps_mean"] >= 1, f"steps {rows}")
print(f"  ok   {len(rows)} families, documented keys, ratios = ms / standard ms: " +
      ", ".join(f"{r['model']} {r['ratio_to_standard']:.2f}" for r in rows))
only = bench("--task", "text", "--models", "eqt")
require([r["model"] for r in only] == ["standard", "eqt"], f"{only}")
print("  ok   --models eqt still measures standard first (text task)")
