"""eqt from Python: eqt's fixed-point solvers and equilibrium gradients for your own PyTorch
modules, and trained eqt runs as models (logits and per-sample / per-token solver statistics
as tensors, generation).

    import eqt
    model = eqt.load("runs/text")                      # a run folder written by `eqt train`
    out = model.generate("In the beginning", max_new_tokens=40, temperature=0)
    print(out.pieces, out.steps)                       # each token's text and solver steps

    z, stats = eqt.solve(f, z0, method="anderson", tol=1e-4, max_iter=50)
    layer = eqt.DEQ(f_module, grad="ift")              # an nn.Module: forward by eqt's solver
    z = layer(z0, x)                                   # z* = f(z*, x); loss.backward() works

The numbers come from eqt's C++ core (the module _eqt, built by the project's CMake against
the LibTorch of Debian's python3-torch, so tensors pass without a copy). Errors raise
ValueError (bad input, with eqt's message naming it) or RuntimeError.
What it is not: a training loop (`eqt train` is) or a re-implementation of anything.
"""
from types import SimpleNamespace as _Namespace
import os as _os

import torch as _torch  # loads LibTorch (and its Python bindings) before the core

from . import _eqt

__version__ = _eqt.__version__
__all__ = ["load", "solve", "DEQ", "Model", "Result", "SOLVER_OPTIONS", "GRAD_MODES", "STATUS"]

# The C++ core's own lists: the per-sample status codes of stats.status, the gradient modes
# and the solver options' names.
STATUS = dict(_eqt.STATUS)
GRAD_MODES = tuple(_eqt.GRAD_MODES)
SOLVER_OPTIONS = tuple(_eqt.SOLVER_OPTIONS)


class Result(_Namespace):
    """A result whose fields are attributes (out.logits, out.steps, ...) and keys (out["steps"])."""

    def __getitem__(self, key):
        return getattr(self, key)

    def keys(self):
        return vars(self).keys()


def solve(f, z0, **options):
    """z* = f(z*) by eqt's batched solver, without an autograd graph.

    f: a callable (B, ...) -> (B, ...) whose samples do not interact; z0: the start (B, ...).
    options: method ("anderson", "picard", "broyden"), tol, stop_mode ("rel", "abs"), max_iter,
    min_iter, freeze, damping, window, beta, ridge, ridge_relative, memory, diverge,
    check_every, compact (docs/solvers.md). Returns (z, stats): stats.steps, .status
    (STATUS codes), .abs_res, .rel_res (B,), .abs_trace, .rel_trace (S, B), .fevals, .fz.
    """
    d = _eqt.solve(f, z0, dict(options))
    z = d.pop("z")
    return z, Result(**d)


class DEQ(_torch.nn.Module):
    """An equilibrium layer around your module f: forward z* = f(z*, *inputs) by eqt's solver,
    backward by one of eqt's gradient modes, usable inside loss.backward().

    grad: "ift" (exact implicit gradient, u = J^T u + v solved by the backward solver),
    "onestep" (u = v + J^T v, optional clip), "phantom" (k damped steps recorded after the
    solve), "truncated" (max_iter damped steps, the last k recorded) or "unrolled" (every
    damped step recorded until the tolerance or max_iter). tau: the damping of recorded
    steps (unrolled, truncated, phantom). solver: keyword options as for eqt.solve;
    backward: the backward solve's options (ift). The last call's statistics are in
    layer.stats (forward) and layer.stats.backward (filled in by loss.backward()).
    """

    def __init__(self, f, grad="ift", k=1, tau=1.0, clip=0.0, backward=None, **solver):
        super().__init__()
        if not isinstance(f, _torch.nn.Module):
            raise TypeError(f"f is {type(f).__name__}; expected a torch.nn.Module (its parameters get the gradient)")
        if grad not in GRAD_MODES:
            raise ValueError(f"grad = {grad!r} is invalid; expected one of {', '.join(GRAD_MODES)}")
        self.f = f
        self.grad = dict(mode=grad, k=k, tau=tau, clip=clip)
        if backward is not None:
            self.grad["backward"] = dict(backward)
        self.solver = dict(solver)
        _eqt.check_options(self.solver, self.grad)  # bad options fail here, not at the first forward
        self.stats = None

    def forward(self, z0, *inputs):
        f = self.f
        z, d = _eqt.equilibrium(lambda z: f(z, *inputs), z0, self.solver, self.grad)
        self.stats = Result(**d)
        return z


class Model:
    """A trained eqt run (from eqt.load): call it on token ids for logits and solver
    statistics; generate() continues a prompt. Options as the CLI's (docs/python.md)."""

    def __init__(self, core):
        self._core = core
        self.info = Result(**core.info())

    def __call__(self, tokens, **options):
        """tokens: (B, T) int64. Options: max_steps, tol, min_steps, exact_steps; depth
        (supervision steps, each from the last one's loop state); restarts, start_noise,
        path_noise, seed (restart r > 0 from the family's start plus noise; outputs gain a
        restart axis: logits (B, R, T, V)); per_token (each position solved alone against the
        cache: steps and residual (B, T)). Returns logits, steps, residual, status, state, q_halt."""
        return Result(**self._core(tokens, **options))

    def generate(self, prompt, **options):
        """prompt: text (text runs) or a list of token ids. Options: max_new_tokens, temperature
        (0: greedy), top_k, top_p, seed, max_steps, tol, min_steps, exact_steps. Returns text
        (str), pieces (each token's str), tokens, steps, residual (per token), logits (N, V)."""
        d = self._core.generate(prompt, **options)
        d["text"] = d["text"].decode("utf-8", errors="replace")
        d["pieces"] = [p.decode("utf-8", errors="replace") for p in d["pieces"]]
        return Result(**d)

    def encode(self, text):
        return self._core.encode(text)

    def decode(self, token):
        return self._core.decode(token).decode("utf-8", errors="replace")

    def __repr__(self):
        i = self.info
        return f"eqt.Model({i.family} on {i.task}, {i.params:,} parameters, from {i.source})"


def load(path, device="cpu", ema=True, tokenizer=""):
    """A run folder (written by `eqt train`, `eqt import`) or a checkpoint file -> Model, on
    `device` ("cpu", "cuda", "cuda:N"), with the EMA weights unless ema=False; tokenizer:
    where a text run's SentencePiece model is now, if it moved."""
    path = _os.fspath(path)
    if not path:
        raise ValueError("the path is empty; expected a run folder or a checkpoint file")
    if _os.path.isdir(path):
        core = _eqt.load(run=path, device=device, ema=ema, tokenizer=tokenizer)
    else:
        core = _eqt.load(checkpoint=path, device=device, ema=ema, tokenizer=tokenizer)
    return Model(core)
