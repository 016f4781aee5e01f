"""Compare one C++ forward/backward (a tensor file written by tests/models/test_reference.cpp)
with the independent Python implementation. Prints the max relative error per tensor and
exits non-zero if any exceeds the tolerance (default 1e-4)."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eqt_ref  # noqa: E402
import tensor_file  # noqa: E402

torch.set_num_threads(1)
path = sys.argv[1]
tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-4
meta, T = tensor_file.load(path)
cfg = meta["config"]
names = [n[len("param."):] for n in T if n.startswith("param.")]
P = {n: T["param." + n].clone().requires_grad_(True) for n in names}
P.update({n[len("buffer."):]: t.clone() for n, t in T.items() if n.startswith("buffer.")})  # trm's h_init, l_init
loss, lg, grads = eqt_ref.forward_loss(P, T["tokens"], T["targets"], cfg, names)


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


worst = 0.0
rows = [("logits", rel(T["logits"], lg)), ("loss", rel(T["loss"], loss))]
for n, g in zip(names, grads):
    ref = torch.zeros_like(P[n]) if g is None else g
    got = T["grad." + n]
    if ref.abs().max() == 0 and got.abs().max() == 0:
        rows.append(("grad." + n, 0.0))
    else:
        rows.append(("grad." + n, rel(got, ref)))
for name, e in rows:
    worst = max(worst, e)
    print(f"  {cfg['family']:9s} {name:48s} max rel err {e:.2e}")
print(f"{cfg['family']}: worst {worst:.2e} over {len(rows)} tensors (tol {tol:g})")
sys.exit(0 if worst < tol else 1)
