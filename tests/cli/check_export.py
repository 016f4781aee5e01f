#!/usr/bin/env python3
"""`eqt export` / `eqt import` end to end, for every family: a tiny trained run exported to
safetensors is read by python/eqt_safetensors.py (standard library + torch) into the
independent reference implementation (tests/reference/eqt_ref.py), whose logits equal (to 1e-6)
those it computes from the run's own checkpoint (read by tensor_file.py) and whose tensors
equal the checkpoint's EMA weights bit for bit; `eqt import` of the file evaluates to the
original run's metrics exactly; damaged files are refused by name.
Usage: check_export.py EQT_BINARY SOURCE_DIR"""
import json, os, struct, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_json  # noqa: E402
import cli_check  # noqa: E402

# The reference's forwards here are compared bit for bit with each other: one thread, so that
# BLAS and LAPACK (the attractor's Anderson solve) take one path whatever the machine's load
# (under `ctest -j2` two forwards of the same weights once differed by 3e-8).
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402
torch.set_num_threads(1)

eqt, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "python"))
sys.path.insert(0, os.path.join(src, "tests", "reference"))
import eqt_safetensors  # noqa: E402
import eqt_ref  # noqa: E402
import tensor_file  # noqa: E402

torch.set_num_threads(1)
checks = cli_check.Checks(sys.argv[1], "eqt_export_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures


tiny = ["--task", "parity", "--length", "8", "--n-train", "64", "--n-test", "32", "--batch", "8", "--steps", "3"]
tokens = torch.randint(0, 2, (4, 8))
targets = tokens.cumsum(1) % 2
for family in bench_json.families(checks.eqt):  # the binary's family table
    rd = os.path.join(work, family)
    run("train", "--model", family, *tiny, "--out", rd)
    st = os.path.join(work, family + ".safetensors")
    run("export", "--run", rd, "--out", st)
    meta, T = eqt_safetensors.load(st)
    ck_meta, ck = tensor_file.load(os.path.join(rd, "checkpoint.eqt"))
    names = [n[len("model."):] for n in ck if n.startswith("model.")]
    ema = {n: ck["ema." + n] if "ema." + n in ck else ck["model." + n] for n in names}
    same = set(T) == set(names) and all(torch.equal(T[n], ema[n]) for n in names)
    check(same and meta["eqt.weights"] == "ema", f"{family}: {len(T)} exported tensors equal the checkpoint's EMA weights")
    cfg = json.loads(meta["eqt.model"])
    check(cfg == ck_meta["model"], f"{family}: the model config travels in the metadata")
    params = [n for n in names if T[n].is_floating_point()]
    # The logits are the forward's (the equilibrium's), whatever the gradient mode; the
    # reference implements the implicit ones, so a phantom-gradient preset is read as ift.
    ref_cfg = json.loads(meta["eqt.model"])
    if ref_cfg.get("grad", {}).get("mode") not in (None, "ift", "onestep", "unrolled"):
        ref_cfg["grad"]["mode"] = "ift"
    def logits(W):
        P = {n: W[n].clone().requires_grad_(n in params) for n in names}
        return eqt_ref.forward_loss(P, tokens, targets, ref_cfg, params)[1].detach()
    a, b = logits(T), logits(ema)
    # Bit for bit, except that under `ctest -j2` the reference's attractor forward has differed
    # from itself by 3e-8 on identical inputs (twice in ~10 suite runs; not reproduced alone,
    # cause not found). The weights themselves are compared bit for bit above; wrong weights
    # would move the logits by orders of magnitude more than 1e-6.
    d = (a - b).abs().max().item()
    check(d <= 1e-6, f"{family}: the reference's logits from the file equal those from the checkpoint (max |d| {d:.1e})")
    imp = os.path.join(work, family + "_imported")
    run("import", st, "--out", imp)
    e1 = json.loads(run("eval", "--run", rd, "--json").stdout)
    e2 = json.loads(run("eval", "--run", imp, "--json").stdout)
    keys = ["loss", "token_accuracy", "exact_accuracy", "solver_steps_mean", "params_total"]
    check(all(e1[k] == e2[k] for k in keys), f"{family}: the imported run evaluates to the same metrics ({e2['loss']:.6f})")

# Damaged files: each refused with a message naming the file and the problem.
st = os.path.join(work, "standard.safetensors")
data = open(st, "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
def variant(name, new_header=None, raw=None):
    path = os.path.join(work, f"bad_{name}.safetensors")
    if raw is None:
        h = json.dumps(new_header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        raw = struct.pack("<Q", len(h)) + h + data[8 + n:]
    open(path, "wb").write(raw)
    return path
first = next(k for k in header if k != "__metadata__")
second = [k for k in header if k not in ("__metadata__", first)][0]
cases = [("header length past the end", variant("len", raw=struct.pack("<Q", 1 << 40) + data[8:]), "runs past the end"),
         ("unknown dtype", variant("dtype", {**header, first: {**header[first], "dtype": "F8"}}), "unknown dtype"),
         ("overlapping offsets", variant("overlap", {**header, second: {**header[second], "data_offsets": header[first]["data_offsets"]}}), "overlaps"),
         ("offsets out of range", variant("range", {**header, first: {**header[first], "data_offsets": [0, 1 << 50]}}), "outside"),
         ("a missing tensor", variant("missing", {k: v for k, v in header.items() if k != first}), "belong to no tensor"),
         ("an overflowing shape", variant("huge", {**header, first: {**header[first], "shape": [1 << 40, 1 << 40]}}), "overflows"),
         ("bytes that do not fit the shape", variant("bytes", {**header, first: {**header[first], "shape": [3]}}), "bytes for shape"),
         ("a shape the model does not have", variant("shape", {**header, first: {**header[first], "shape": list(reversed(header[first]["shape"])) + [1]}}), "the model's is")]
for what, path, want in cases:
    r = run("import", path, "--out", os.path.join(work, "bad"), ok=False)
    check(r.returncode != 0 and want in r.stderr and path in r.stderr, f"{what}: {r.stderr.strip()[:160]}")

checks.finish()
