"""An independent PyTorch implementation of eqt's model families.

Written from REFERENCE.md and docs/models.md, not translated from the C++: functional code
over a dict of named parameters (the C++ parameter names), its own attention, RoPE, norms,
its own Anderson solver, and the gradient formulas applied by hand with torch.autograd.grad.
Used only by the tests, to check the C++ logits, losses and parameter gradients.
"""
import math

import torch
import torch.nn.functional as F

EPS = 1e-6


def rms(x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)


def norm(P, name, x, kind):
    if kind == "rms":
        return rms(x) * P[name + ".weight"]
    return F.layer_norm(x, (x.shape[-1],), P[name + ".weight"], P[name + ".bias"], EPS)


def rope(x, base):  # x: (B, H, T, hd)
    T, hd = x.shape[2], x.shape[3]
    half = hd // 2
    inv = base ** (-torch.arange(half, dtype=x.dtype) * 2.0 / hd)
    ang = torch.arange(T, dtype=x.dtype)[:, None] * inv[None, :]
    c, s = ang.cos(), ang.sin()
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, a * s + b * c], -1)


def sinusoidal(T, C, dtype):
    pe = torch.zeros(T, C, dtype=dtype)
    for p in range(T):
        for i in range(0, C, 2):
            a = p / (10000.0 ** (i / C))
            pe[p, i] = math.sin(a)
            if i + 1 < C:
                pe[p, i + 1] = math.cos(a)
    return pe


def attention(P, name, x, cfg, causal, use_rope):
    B, T, C = x.shape
    H = cfg["block"]["n_heads"]
    hd = C // H
    q, k, v = [(x @ P[f"{name}.{w}.weight"].t()).view(B, T, H, hd).transpose(1, 2) for w in "qkv"]
    if use_rope:
        q, k = rope(q, cfg["block"]["rope_base"]), rope(k, cfg["block"]["rope_base"])
    if cfg["block"]["qk_norm"]:
        q, k = rms(q), rms(k)
    att = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if causal:
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    y = att.softmax(-1) @ v
    return y.transpose(1, 2).reshape(B, T, C) @ P[f"{name}.o.weight"].t()


def mlp(P, name, x, kind):
    u = x @ P[name + ".up.weight"].t()
    if kind == "relu2":
        h = 0.5 * torch.relu(u) ** 2
    elif kind == "gelu":
        h = F.gelu(u)
    else:
        h = F.silu(u) * (x @ P[name + ".gate.weight"].t())
    return h @ P[name + ".down.weight"].t()


def block(P, name, x, cfg, gates=False, causal=None, use_rope=None):
    b = cfg["block"]
    causal = b["causal"] if causal is None else causal
    use_rope = (b["positions"] == "rope") if use_rope is None else use_rope
    a = attention(P, name + ".attn", norm(P, name + ".norm_attn", x, b["norm"]), cfg, causal, use_rope)
    if gates:
        a = a * torch.sigmoid(P[name + ".gate_attn"]) * cfg["attractor"]["gamma_max"]
    h = x + a
    m = mlp(P, name + ".mlp", norm(P, name + ".norm_mlp", h, b["norm"]), b["mlp"])
    if gates:
        m = m * torch.sigmoid(P[name + ".gate_mlp"]) * cfg["attractor"]["gamma_max"]
    return h + m


def stack(P, name, x, cfg, n, gates=False):
    for i in range(n):
        x = block(P, f"{name}.{i}", x, cfg, gates)
    return x


def embed(P, tokens, cfg):
    x = P["embed.table"][tokens]
    if cfg["block"]["positions"] == "sinusoidal":
        x = x + sinusoidal(tokens.shape[1], x.shape[-1], x.dtype)
    return x


def logits(P, h, cfg):
    return norm(P, "embed.norm", h, cfg["block"]["norm"]) @ P["embed.table"].t()


def anderson(f, x0, tol, max_iter, m=5):
    """Batched Anderson with a scaled ridge; returns the iterate with the smallest residual."""
    B = x0.shape[0]
    shape = x0.shape
    x = x0.reshape(B, -1)
    X, Fs = [], []
    best, best_res = x, torch.full((B,), float("inf"), dtype=torch.float64)
    for _ in range(max_iter):
        fx = f(x.view(shape)).reshape(B, -1)
        res = ((fx - x).norm(dim=1) / (fx.norm(dim=1) + 1e-12)).double()
        better = res < best_res
        best = torch.where(better[:, None], x, best)
        best_res = torch.where(better, res, best_res)
        if (res < tol).all():
            break
        X.append(x); Fs.append(fx)
        X, Fs = X[-m:], Fs[-m:]
        G = torch.stack(Fs, 1) - torch.stack(X, 1)
        GG = (G @ G.transpose(1, 2)).double()
        n = GG.shape[1]
        reg = 1e-8 * GG.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-30)
        H = torch.zeros(B, n + 1, n + 1, dtype=torch.float64)
        H[:, 0, 1:] = 1
        H[:, 1:, 0] = 1
        H[:, 1:, 1:] = GG + reg[:, None, None] * torch.eye(n, dtype=torch.float64)
        rhs = torch.zeros(B, n + 1, 1, dtype=torch.float64)
        rhs[:, 0] = 1
        alpha = torch.linalg.lstsq(H, rhs).solution[:, 1:, 0].to(x.dtype)
        x = (alpha[:, None, :] @ torch.stack(Fs, 1))[:, 0]
    return best.view(shape), best_res


def equilibrium_loss_grads(P, f, z0, loss_of, cfg, names):
    """Solve z = f(z) and return (loss, logits, grads) by the configured gradient formula."""
    with torch.no_grad():
        z, _ = anderson(f, z0.detach(), 1e-7, 300)
    mode = cfg["grad"]["mode"]
    y = f(z)                                  # recorded evaluation at z*
    yd = y.detach().requires_grad_(True)      # split: decode path vs path through y
    loss, lg = loss_of(yd)
    params = [P[n] for n in names]
    direct = torch.autograd.grad(loss, [yd] + params, allow_unused=True)
    v, direct = direct[0], direct[1:]
    zz = z.detach().requires_grad_(True)
    fz = f(zz)
    jtv = lambda w: torch.autograd.grad(fz, zz, w, retain_graph=True)[0]
    if mode == "onestep":
        u = v + jtv(v)
    elif mode == "ift":
        u = v.clone()
        for _ in range(500):                  # plain iteration on u = J^T u + v
            un = jtv(u) + v
            if (un - u).norm() <= 1e-8 * un.norm():
                u = un
                break
            u = un
    else:
        raise ValueError(mode)
    through = torch.autograd.grad(y, params, u, allow_unused=True)
    grads = [a if b is None else (b if a is None else a + b) for a, b in zip(direct, through)]
    return loss, lg, grads


def ce(lg, targets):
    return F.cross_entropy(lg.reshape(-1, lg.shape[-1]), targets.reshape(-1))


def masked_positions(T, ratio):
    return torch.tensor([((t * 2654435761) % 2 ** 32) / 2 ** 32 < ratio for t in range(T)], dtype=torch.float32)


def energy(P, h, tokens, cfg):
    """Per-position EqT energy (B, T)."""
    e = cfg["eqt"]
    B, T, C = h.shape
    W = e["rev_window"]
    out = torch.zeros(B, T, dtype=h.dtype)
    if e["lambda_rev"] != 0 and e.get("reverse", "block") == "attention":
        # Target j of position t (x_{t-1-j}) from h_t and the sources x_{t-1}, ..., x_{t-j}:
        # an explicit softmax over [null slot (score 0, value 0), sources], per (t, j).
        rev = torch.zeros(B, T, dtype=h.dtype)
        E = P["embed.table"]
        a = h @ P["energy.rev_in.weight"].t()
        q = h @ P["energy.rev_q.weight"].t() / math.sqrt(C)
        for t in range(T):
            terms = []
            for j in range(W):
                if t - 1 - j < 0:
                    continue
                r = a[:, t] + P["energy.rev_pos"][j]
                srcs = [s for s in range(t - 1, t - 1 - j, -1) if s >= 0]
                if srcs:
                    k = torch.stack([E[tokens[:, s]] @ P["energy.rev_k.weight"].t() for s in srcs], 1)  # (B, n, C)
                    v = torch.stack([E[tokens[:, s]] @ P["energy.rev_v.weight"].t() for s in srcs], 1)
                    scores = torch.cat([torch.zeros(B, 1, dtype=h.dtype), (k @ q[:, t, :, None])[:, :, 0]], 1)
                    p = scores.softmax(1)[:, 1:]                                 # drop the null slot
                    r = r + (p[:, :, None] * v).sum(1)
                lp = (r @ E.t()).log_softmax(-1)                            # no norm: linear read-out
                terms.append(-lp.gather(1, tokens[:, t - 1 - j][:, None])[:, 0])
            if terms:
                rev[:, t] = torch.stack(terms, 1).mean(1)
        out = out + e["lambda_rev"] * rev
    elif e["lambda_rev"] != 0:
        rev = torch.zeros(B, T, dtype=h.dtype)
        first = h @ P["energy.rev_in.weight"].t()                      # (B, T, C)
        seqs = []
        for t in range(T):
            past = [P["embed.table"][tokens[:, max(t - j, 0)]] for j in range(1, W)]
            seqs.append(torch.stack([first[:, t]] + past, 1))           # (B, W, C)
        seq = torch.stack(seqs, 1).reshape(B * T, W, C)
        o = block(P, "energy.rev_block", seq, cfg, causal=True, use_rope=True)
        logp = logits(P, o, cfg).log_softmax(-1).view(B, T, W, -1)
        for t in range(T):
            terms = [-logp[:, t, j, :].gather(1, tokens[:, t - 1 - j][:, None])[:, 0]
                     for j in range(W) if t - 1 - j >= 0]
            if terms:
                rev[:, t] = torch.stack(terms, 1).mean(1)
        out = out + e["lambda_rev"] * rev
    if e["lambda_mask"] != 0:
        hid = F.silu(h @ P["energy.mask_up.weight"].t()) @ P["energy.mask_down.weight"].t()
        logp = logits(P, hid, cfg).log_softmax(-1)
        nll = -logp.gather(2, tokens[:, :, None])[:, :, 0]
        out = out + e["lambda_mask"] * nll * masked_positions(T, e["mask_ratio"]).to(h.dtype)
    if e["lambda_conf"] != 0:
        logp = logits(P, h, cfg).log_softmax(-1)
        ent = -(logp.exp() * logp).sum(-1)
        out = out + e["lambda_conf"] * (ent - logp.max(-1).values)
    if e.get("memory", False) and e["lambda_mem"] != 0:
        # Episodic memory: -log sum_i r_i exp(cos(h, z_i) / tau) over the bank (a buffer).
        z = P["energy.mem_keys"].to(h.dtype)
        z = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
        u = h / h.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        s = u @ z.t() / e["mem_tau"] + P["energy.mem_weights"].to(h.dtype).clamp_min(1e-12).log()
        out = out - e["lambda_mem"] * torch.logsumexp(s, -1)
    return out


def forward_loss(P, tokens, targets, cfg, names):
    """Training-mode loss, logits and parameter gradients of the configured family."""
    fam = cfg["family"]
    params = [P[n] for n in names]
    x = embed(P, tokens, cfg)
    if fam == "standard":
        lg = logits(P, stack(P, "blocks", x, cfg, cfg["n_layers"]), cfg)
        loss = ce(lg, targets)
    elif fam == "looped":
        lp = cfg["looped"]
        e = stack(P, "prelude", x, cfg, lp["prelude"])
        s = torch.zeros_like(e)
        K, k = lp["loops"], min(lp["backprop_last"], lp["loops"])

        def step(s, e):
            inp = torch.cat([s, e], -1) @ P["adapter.weight"].t() if lp["inject"] == "concat" else s + e
            return stack(P, "core", inp, cfg, lp["core"])
        for i in range(K):
            if i < K - k:
                with torch.no_grad():
                    s = step(s, e.detach())
            else:
                s = step(s, e)
        lg = logits(P, stack(P, "coda", s, cfg, lp["coda"]), cfg)
        loss = ce(lg, targets)
    elif fam in ("deq", "attractor"):
        if fam == "deq":
            u = norm(P, "inject_norm", x @ P["inject.weight"].t(), cfg["block"]["norm"])
            f = lambda z: stack(P, "core", z + u, cfg, cfg["deq"]["layers"]) - z
            z0 = torch.zeros_like(u)
        else:
            c = stack(P, "backbone", x, cfg, cfg["n_layers"])
            f = lambda y: stack(P, "head", y + c, cfg, cfg["attractor"]["head_layers"], gates=True) - y
            z0 = c.detach()

        def loss_of(y):
            lg = logits(P, y, cfg)
            return ce(lg, targets), lg
        loss, lg, grads = equilibrium_loss_grads(P, f, z0, loss_of, cfg, names)
        return loss.detach(), lg.detach(), grads
    elif fam == "eqt":
        e = cfg["eqt"]
        assert e["grad"] == "unrolled"
        h = x
        esum = 0
        for l in range(cfg["n_layers"]):
            f = block(P, f"blocks.{l}", h, cfg)
            hk = f
            for _ in range(e["steps"]):
                g = torch.autograd.grad(energy(P, hk, tokens, cfg).sum(), hk, create_graph=True)[0]
                hk = hk - e["alpha"] * (g + (hk - f) / e["gamma"])
            esum = esum + energy(P, hk, tokens, cfg).mean()
            h = norm(P, f"refine_norm.{l}", hk, "layer")
        lg = logits(P, h, cfg)
        loss = ce(lg, targets) + e["beta"] * esum / cfg["n_layers"]
    elif fam == "trm":
        r, b = cfg["trm"], cfg["block"]

        def unit(v, dim=-1):  # TRM's weightless RMS norm, eps 1e-5
            return v * torch.rsqrt(v.pow(2).mean(dim, keepdim=True) + 1e-5)

        def post_norm_block(name, h):
            if r["mixer"] == "attention":
                h = unit(h + attention(P, name + ".attn", h, cfg, b["causal"], b["positions"] == "rope"))
            else:  # an MLP across positions, its residual normalised over positions
                t = h.transpose(1, 2)
                h = unit(t + mlp(P, name + ".token_mlp", t, b["mlp"]), dim=-1).transpose(1, 2)
            return unit(h + mlp(P, name + ".mlp", h, b["mlp"]))

        def net(h):
            for i in range(r["layers"]):
                h = post_norm_block(f"net.{i}", h)
            return h
        x = unit(x)
        B, T, C = x.shape
        zH, zL = P["h_init"].expand(B, T, C), P["l_init"].expand(B, T, C)
        for c in range(r["h_cycles"]):
            last = c == r["h_cycles"] - 1
            with torch.enable_grad() if last else torch.no_grad():
                ctx = zH + x
                if r["inner"] == "unrolled":
                    for _ in range(r["l_cycles"]):
                        zL = net(zL + ctx)
                else:
                    f = lambda y: net(y + ctx)
                    with torch.no_grad():
                        z, _ = anderson(f, zL.detach(), 1e-7, 300)
                    if last:  # the phantom gradient: k damped re-applications from z*
                        g = cfg["grad"]
                        assert g["mode"] == "phantom"
                        zL = z
                        for _ in range(g["k"]):
                            zL = g["tau"] * f(zL) + (1 - g["tau"]) * zL
                    else:
                        with torch.no_grad():
                            zL = f(z)
                zH = net(zH + zL)
        lg = logits(P, zH, cfg)
        loss = ce(lg, targets)
    else:
        raise ValueError(fam)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return loss.detach(), lg.detach(), grads
