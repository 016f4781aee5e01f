#!/usr/bin/env python3
"""The Python module `eqt` (issue 30), checked against things it did not produce:
1. the equilibrium layer's gradients (of f's parameters and of the input f captured) for
   every gradient mode against a float64 reference written here in plain PyTorch: the same
   damped steps recorded by autograd (unrolled, truncated, phantom), u = v + J^T v by
   autograd's vector-Jacobian products (onestep), and a 400-step unrolled solve (ift: the
   exact implicit gradient is its limit);
2. eqt.solve on a Python callable equals the C++ solver on the same map computed in C++
   (the module's test hook _solve_tanh): same iterates, steps and residuals;
3. a run loaded in Python gives the CLI's logits exactly: `eqt generate --temperature 0
   --logits F` and model.generate(...) on a tiny trained attractor text model, and the
   whole-sequence call agrees with the per-token one up to the solver's tolerance;
4. bad inputs raise ValueError / RuntimeError with eqt's message and the interpreter lives on:
   wrong shapes and dtypes, non-finite starts, an f that raises (in the forward and inside
   loss.backward()), unknown options, bad tokens, a missing run, options a family lacks.
Usage: check_module.py EQT_BINARY BUILD_PYTHON_DIR"""
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, sys.argv[2])
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))  # eqt_safetensors
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))  # cli_check
import torch  # noqa: E402

import eqt  # noqa: E402
import cli_check  # noqa: E402
import eqt_safetensors  # noqa: E402

EQT = sys.argv[1]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


# --- 1. gradients of the equilibrium layer, every mode, float64 -------------------------------
torch.manual_seed(0)
B, D, X = 3, 6, 4


class F(torch.nn.Module):
    """f(z, x) = tanh(z W^T + x U^T + b), W scaled to a contraction (||W|| ~ 0.5)."""

    def __init__(self):
        super().__init__()
        w = torch.randn(D, D, dtype=torch.float64)
        self.W = torch.nn.Parameter(0.5 * w / torch.linalg.matrix_norm(w, 2))
        self.U = torch.nn.Parameter(torch.randn(D, X, dtype=torch.float64))
        self.b = torch.nn.Parameter(0.1 * torch.randn(D, dtype=torch.float64))

    def forward(self, z, x):
        return torch.tanh(z @ self.W.T + x @ self.U.T + self.b)


f = F()
x0 = torch.randn(B, X, dtype=torch.float64)
c = torch.randn(B, D, dtype=torch.float64)  # L = sum(c * z*)
z_start = torch.zeros(B, D, dtype=torch.float64)


def grads_of(z, x):
    L = (c * z).sum()
    return torch.autograd.grad(L, [f.W, f.U, f.b, x])


def damped(z, x, n, tau):
    for _ in range(n):
        z = (1 - tau) * z + tau * f(z, x)
    return z


def fixed_point(x):
    with torch.no_grad():
        z = z_start.clone()
        for _ in range(400):
            z = f(z, x)
    return z


def reference(mode, opts):
    x = x0.clone().requires_grad_(True)
    # max_iter counts evaluations of f, and the last one measures the returned iterate's
    # residual (solve/solver.h: z and fz = f(z)), so unrolled records max_iter - 1 steps and
    # truncated makes max_iter - k - 1 steps without a graph, then k recorded ones.
    if mode == "unrolled":
        z = damped(z_start, x, opts["max_iter"] - 1, opts["tau"])
    elif mode == "truncated":
        with torch.no_grad():
            z = damped(z_start, x, opts["max_iter"] - opts["k"] - 1, opts["tau"])
        z = damped(z, x, opts["k"], opts["tau"])
    elif mode == "phantom":
        z = damped(fixed_point(x.detach()), x, opts["k"], opts["tau"])
    elif mode == "onestep":
        zs = fixed_point(x.detach()).requires_grad_(True)
        y = f(zs, x)
        (jtv,) = torch.autograd.grad(y, zs, grad_outputs=c, retain_graph=True)  # J^T v
        u = c + jtv
        return torch.autograd.grad(y, [f.W, f.U, f.b, x], grad_outputs=u)
    elif mode == "ift":
        z = damped(z_start, x, 400, 1.0)  # unrolled to convergence: the implicit gradient's limit
    return grads_of(z, x)


cases = {
    "unrolled": (dict(method="picard", tol=0.0, max_iter=8), dict(tau=0.7), dict(max_iter=8, tau=0.7), 1e-12),
    "truncated": (dict(method="picard", tol=0.0, max_iter=9), dict(k=3, tau=0.8), dict(max_iter=9, k=3, tau=0.8), 1e-12),
    "phantom": (dict(method="anderson", tol=1e-13, max_iter=200), dict(k=2, tau=0.5), dict(k=2, tau=0.5), 1e-9),
    "onestep": (dict(method="anderson", tol=1e-13, max_iter=200), dict(), dict(), 1e-9),
    "ift": (dict(method="anderson", tol=1e-13, max_iter=200),
            dict(backward=dict(tol=1e-13, max_iter=200)), dict(), 1e-9),
}
for mode, (solver, grad_kw, ref_kw, tol) in cases.items():
    layer = eqt.DEQ(f, grad=mode, **grad_kw, **solver)
    x = x0.clone().requires_grad_(True)
    z = layer(z_start, x)
    got = grads_of(z, x)
    want = reference(mode, ref_kw)
    err = max(float((g - w).abs().max() / (w.abs().max() + 1e-30)) for g, w in zip(got, want))
    check(err < tol, f"DEQ grad={mode}: relative gradient error {err:.2e} vs the float64 reference (< {tol:g})")
    if mode in ("onestep", "ift"):
        bs = layer.stats.backward
        check(bs.calls >= 1 and bs.fevals >= 1, f"DEQ grad={mode}: backward stats filled in ({bs.calls} calls, {bs.fevals} VJPs)")

# One damped step more or fewer is far outside these tolerances (so the checks above can fail).
for mode, kw in (("truncated", dict(k=3, tau=0.8)), ("unrolled", dict(tau=0.7))):
    x = x0.clone().requires_grad_(True)
    got = grads_of(eqt.DEQ(f, grad=mode, method="picard", tol=0.0, max_iter=cases[mode][0]["max_iter"], **kw)(z_start, x), x)
    off = min(max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(got, reference(mode, dict(kw, max_iter=n))))
              for n in (cases[mode][0]["max_iter"] - 1, cases[mode][0]["max_iter"] + 1))
    check(off > 1e-6, f"{mode} vs a reference one step off: relative error {off:.2e} (> 1e-6)")

# The modes really differ: phantom with one step is not the implicit gradient here.
x = x0.clone().requires_grad_(True)
g_ph = grads_of(eqt.DEQ(f, grad="phantom", k=1, tau=0.5, tol=1e-13, max_iter=200)(z_start, x), x)
g_ift = reference("ift", {})
gap = max(float((a - b).abs().max()) for a, b in zip(g_ph, g_ift))
check(gap > 1e-3, f"phantom(k=1) differs from the implicit gradient by {gap:.2e} (the comparison can fail)")

# Training inside a PyTorch model: the loss falls.
torch.manual_seed(1)
net = torch.nn.Sequential()
inj = torch.nn.Linear(X, D).double()
core = F()
layer = eqt.DEQ(core, grad="ift", tol=1e-8, max_iter=100)
head = torch.nn.Linear(D, 1).double()
params = list(inj.parameters()) + list(core.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=0.03)
xs = torch.randn(64, X, dtype=torch.float64)
ys = torch.sin(xs.sum(1, keepdim=True))
losses = []
for step in range(60):
    z = layer(torch.zeros(64, D, dtype=torch.float64), xs)
    loss = ((head(z) - ys) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
check(losses[-1] < 0.5 * losses[0], f"a DEQ layer trains inside a PyTorch model: loss {losses[0]:.4f} -> {losses[-1]:.4f}")

# --- 2. eqt.solve equals the C++ solver on the same map ----------------------------------------
W = f.W.detach().clone()
xb = (x0 @ f.U.detach().T).clone()
for method in ("anderson", "picard", "broyden"):
    opts = dict(method=method, tol=1e-10, max_iter=80)
    z_py, st = eqt.solve(lambda z: torch.tanh(z @ W.T + xb), z_start, **opts)
    cpp = eqt._eqt._solve_tanh(W, xb, z_start, opts)
    dz = float((z_py - cpp["z"]).abs().max())
    same_steps = torch.equal(st.steps, cpp["steps"]) and torch.equal(st.status, cpp["status"])
    dres = float((st.rel_res - cpp["rel_res"]).abs().max())
    check(dz == 0.0 and same_steps and dres == 0.0 and st.fevals == cpp["fevals"],
          f"eqt.solve({method}) = the C++ solver: |dz| {dz:.1e}, steps {st.steps.tolist()} vs {cpp['steps'].tolist()}, "
          f"|d rel_res| {dres:.1e}, fevals {st.fevals} vs {cpp['fevals']}")
    check(bool((st.status == 0).all()) and float(st.rel_res.max()) < 1e-10, f"eqt.solve({method}) converged "
          f"(max rel_res {float(st.rel_res.max()):.1e})")

# --- 3. a trained run: the CLI's logits exactly -------------------------------------------------
work = tempfile.mkdtemp(prefix="eqt_python_")
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
run_dir = cli_check.tiny_text_run(EQT, work, env, threads=1)  # a failed training ends the check
torch.set_num_threads(1)
model = eqt.load(run_dir)
print("  ", model)
check(model.info.family == "attractor" and model.info.text, f"eqt.load: {model.info.family} on {model.info.task}")
logits_file = os.path.join(work, "cli.safetensors")
prompt = "In the beg"
r = subprocess.run([EQT, "--threads", "1", "generate", "--run", run_dir, "--prompt", prompt, "--max-new-tokens", "12",
                    "--temperature", "0", "--logits", logits_file], capture_output=True, text=True, env=env)
check(r.returncode == 0, "eqt generate --logits" + ("" if r.returncode == 0 else r.stderr[-800:]))
_, cli = eqt_safetensors.load(logits_file)
out = model.generate(prompt, max_new_tokens=12, temperature=0)
check(torch.equal(out.tokens, cli["tokens"]), f"generate: the CLI's tokens ({out.tokens.tolist()})")
dl = float((out.logits - cli["logits"]).abs().max())
check(out.logits.shape == cli["logits"].shape and dl == 0.0,
      f"generate: the CLI's logits exactly ({tuple(out.logits.shape)}, max |difference| {dl})")
check(torch.equal(out.steps, cli["steps"]), f"generate: the CLI's steps per token ({out.steps.tolist()})")
check(r.stdout in (out.text, out.text + "\n"), f"generate: the CLI's text ({out.text!r})")
# The call on a whole sequence vs position by position (the cache): equal up to the solver's tolerance.
ids = torch.tensor([model.encode("In the beginning was")], dtype=torch.long)
whole = model(ids)
per = model(ids, per_token=True)
d = float((whole.logits - per.logits).abs().max())
check(d < 5e-3, f"model(tokens) vs model(tokens, per_token=True): max |logit difference| {d:.1e} (< 5e-3)")
check(tuple(per.steps.shape) == tuple(ids.shape) and tuple(whole.steps.shape) == (1,),
      f"per-token steps {tuple(per.steps.shape)}, per-sample steps {tuple(whole.steps.shape)}")
two = torch.cat([ids, torch.tensor([model.encode("And God said, Let there")], dtype=torch.long)[:, :ids.shape[1]]])
per2 = model(two, per_token=True)
alone = model(two[1:], per_token=True)
check(torch.equal(per2.steps[0], per.steps[0]) and torch.equal(per2.steps[1], alone.steps[0])
      and torch.equal(per2.logits[1], alone.logits[0]),
      "per_token with 2 rows: each row's steps and logits are the ones it gets alone")
capped = model(ids, per_token=True, max_steps=2)
check(float(capped.steps.max()) <= 2 and float(per.steps.max()) > 2,
      f"max_steps=2 caps the per-token steps ({float(capped.steps.max())} <= 2 < {float(per.steps.max())})")
deep = model(ids, depth=3)
check(float(deep.steps[0]) > float(whole.steps[0]), f"depth=3 runs 3 supervision steps ({float(deep.steps[0])} > "
      f"{float(whole.steps[0])} steps)")
rs = model(ids, restarts=4, start_noise=0.5, seed=3)
check(tuple(rs.logits.shape[:2]) == (1, 4) and float((rs.logits[0, 0] - whole.logits[0]).abs().max()) < 1e-4,
      f"restarts=4: logits {tuple(rs.logits.shape)}, restart 0 = the plain call")
rs2 = model(ids, restarts=4, start_noise=0.5, seed=3)
check(torch.equal(rs.logits, rs2.logits), "restarts are reproducible from the seed")

# --- 4. bad inputs raise, the interpreter lives on -----------------------------------------------


def raises(kind, fn, *words):
    try:
        fn()
    except kind as e:
        msg = str(e)
        ok = all(w in msg for w in words)
        check(ok, f"raises {kind.__name__}: {msg.splitlines()[0][:150]}")
        return
    except Exception as e:  # noqa: BLE001
        check(False, f"expected {kind.__name__} with {words}, got {type(e).__name__}: {e}")
        return
    check(False, f"expected {kind.__name__} with {words}: nothing was raised")


good = lambda z: torch.tanh(z @ W.T + xb)  # noqa: E731
raises(ValueError, lambda: eqt.solve(lambda z: z[:, :2], z_start), "shape")
raises(ValueError, lambda: eqt.solve(lambda z: 3, z_start), "tensor")
raises(ValueError, lambda: eqt.solve(good, torch.full((B, D), float("nan"), dtype=torch.float64)), "finite")
raises(ValueError, lambda: eqt.solve(good, torch.zeros(0, D, dtype=torch.float64)), "B >= 1")
raises(ValueError, lambda: eqt.solve(good, torch.zeros(B, D, dtype=torch.long)), "floating-point")
raises(ValueError, lambda: eqt.solve(good, z_start, method="newton"), "newton", "anderson")
raises(ValueError, lambda: eqt.solve(good, z_start, tolerance=1e-3), "tolerance", "tol")
raises(ValueError, lambda: eqt.solve(good, z_start, max_iter="many"), "max_iter")
raises(ValueError, lambda: eqt.solve(good, z_start, max_iter=-1), "max_iter")
raises(ValueError, lambda: eqt.solve(good, z_start, max_iter=True), "max_iter", "an int")
raises(ValueError, lambda: eqt.DEQ(f, grad="phantom", backward=dict(tol=1e-6)), "ift only")
raises(ValueError, lambda: eqt.DEQ(f, grad="ift", windw=3), "windw", "window")
raises(ValueError, lambda: model.generate(3.5), "prompt", "token ids")
raises(ValueError, lambda: eqt.load(""), "empty")
raises(ValueError, lambda: eqt.solve(42, z_start), "callable")


def boom(z):
    raise KeyError("inside f")


raises(KeyError, lambda: eqt.solve(boom, z_start), "inside f")


class Flaky(F):
    """Fine in the forward, raises when the backward solve calls it (ift)."""

    armed = False

    def forward(self, z, x):
        if Flaky.armed:
            raise ArithmeticError("f failed in the backward")
        return super().forward(z, x)


flaky = Flaky()
zf = eqt.DEQ(flaky, grad="ift", tol=1e-8)(z_start, x0.clone().requires_grad_(True))
Flaky.armed = True
raises(RuntimeError, lambda: zf.sum().backward(), "f failed in the backward")
Flaky.armed = False
raises(TypeError, lambda: eqt.DEQ(lambda z: z), "nn.Module")
raises(ValueError, lambda: eqt.DEQ(f, grad="adjoint"), "adjoint", "ift")
raises(ValueError, lambda: eqt.DEQ(f, grad="phantom", k=0), "k = 0")
raises(ValueError, lambda: model(torch.tensor([[1.5, 2.0]])), "int64")
raises(ValueError, lambda: model(torch.tensor([1, 2])), "(B, T)")
raises(ValueError, lambda: model(torch.tensor([[1, 99999]])), "99999")
raises(ValueError, lambda: model(torch.zeros(1, 500, dtype=torch.long)), "max_seq")
raises(ValueError, lambda: model(ids, max_steps=-1), "max_steps")
raises(ValueError, lambda: model(ids, exact_steps=2, tol=1e-3), "exact_steps")
raises(ValueError, lambda: model(ids, depth=0), "depth")
raises(ValueError, lambda: model(ids, per_token=True, depth=2), "per_token")
raises(ValueError, lambda: model.generate("", max_new_tokens=3), "empty")
raises(ValueError, lambda: model.generate("abc", temperature=-1), "temperature")
raises(ValueError, lambda: eqt.load(os.path.join(work, "nowhere")), "no checkpoint")
raises(ValueError, lambda: eqt.load(run_dir, device="tpu"), "tpu")
bad = os.path.join(work, "bad.eqt")
with open(bad, "wb") as fh:
    fh.write(b"not a checkpoint at all")
raises(RuntimeError, lambda: eqt.load(bad), "bad.eqt")
std = eqt.load(cli_check.tiny_text_run(EQT, work, env, model="standard", name="std", threads=1))
raises(ValueError, lambda: std(ids, depth=2), "standard", "loop state")
check(std(ids).steps is None, "a standard model reports no solver steps (None)")
z_after, _ = eqt.solve(good, z_start)
check(bool(torch.isfinite(z_after).all()), "the interpreter and the module still work after every error")

# --- 5. the examples run as the README says ----------------------------------------------------
examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")
penv = dict(env, PYTHONPATH=sys.argv[2])
svg = os.path.join(work, "steps.svg")
r = subprocess.run([sys.executable, os.path.join(examples, "token_steps.py"), run_dir, "In the", svg],
                   capture_output=True, text=True, env=penv)
check(r.returncode == 0 and os.path.exists(svg) and "<rect" in open(svg).read() and "steps per token" in r.stdout,
      "examples/token_steps.py prints per-token steps and writes its chart" + ("" if r.returncode == 0 else r.stderr[-600:]))
r = subprocess.run([sys.executable, os.path.join(examples, "deq_layer.py")], capture_output=True, text=True, env=penv)
tests = [float(m) for m in __import__("re").findall(r"test ([0-9.]+)", r.stdout)]
check(r.returncode == 0 and len(tests) >= 2 and tests[-1] < 0.5 * tests[0],
      f"examples/deq_layer.py trains (test loss {tests[0] if tests else None} -> {tests[-1] if tests else None})"
      + ("" if r.returncode == 0 else r.stderr[-600:]))

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
