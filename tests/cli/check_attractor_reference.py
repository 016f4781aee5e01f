#!/usr/bin/env python3
"""`eqt import --from attractor-reference` (issues 17, 25): a state dict in the layout of the
Attractor paper's PyTorch code (jacobfa/Attractor, attractor/models/attractor/), written by
this test with random weights, is imported; its logits, computed here by a small forward that
follows the reference's definitions as its source states them (not the importer's: ReLU2 is
`relu(x).pow(2).mul(0.5)` from attractor/modules/basic.py, RMSNorm `x * rsqrt(mean(x^2) + eps)
* weight` from attractor/modules/norms.py, interleaved-pair RoPE from attractor/modules/utils.py,
gated weight-tied head solved for y* = Head(y* + c) - y* from c, ln_f, tied unembedding), equal eqt's (the imported run
exported and run through tests/reference/eqt_ref.py, itself checked against eqt's C++ by
cli.export_import) for GELU + LayerNorm and ReLU2 + RMSNorm. Negative control: without the
RoPE row permutation the logits differ. Mismatched architectures are refused by name.
Usage: check_attractor_reference.py EQT_BINARY SOURCE_DIR"""
import json, math, os, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

import torch
import torch.nn.functional as F

eqt, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "python"))
sys.path.insert(0, os.path.join(src, "tests", "reference"))
import eqt_safetensors  # noqa: E402
import eqt_ref  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
checks = cli_check.Checks(sys.argv[1], "eqt_attref_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures


C, H, HID, PAD, N_PRE, N_CORE = 32, 4, 80, 512, 2, 1


def ref_config(**kw):
    c = {"name": "attractor-test", "n_embd": C, "num_attention_heads": H, "num_key_value_heads": H,
         "intermediate_size": HID, "vocab_size": 256, "padded_vocab_size": PAD, "block_size": 64,
         "norm_class_name": "LayerNorm", "norm_eps": 1e-6, "nonlin_name": "GELU", "mlp_class_name": "BaseMLP",
         "bias": False, "qk_norm": False, "tie_embeddings": True, "causal": True,
         "rope_settings": {"use_rope": True, "rope_base": 50000, "rope_condense_ratio": 1},
         "n_layers_in_prelude": N_PRE, "n_layers_in_recurrent_block": N_CORE, "n_layers_in_coda": 1,
         "layer_scale_init": 0.1, "gamma_max": 1.0, "max_iter": 300, "tol": 1e-10, "anderson_m": 5,
         "init": {"embedding_scale": 1.0, "logit_scale": 1.0}}
    c.update(kw)
    return c


def state_dict(layer_norm):
    """Random weights under the reference's names (transformer.prelude.i, core_block.i, coda.i)."""
    g = lambda *s, std=0.15: torch.randn(*s) * std  # noqa: E731
    S = {"transformer.wte.weight": g(PAD, C, std=1.0)}
    def block(p, gated):
        for n in ("norm_1", "norm_2"):
            S[p + n + ".weight"] = 1 + g(C, std=0.1)
            if layer_norm:
                S[p + n + ".bias"] = g(C, std=0.1)
        for w in ("c_q", "c_k", "c_v", "c_proj"):
            S[p + "attn." + w + ".weight"] = g(C, C)
        S[p + "mlp.fc.weight"], S[p + "mlp.proj.weight"] = g(HID, C), g(C, HID)
        if gated:
            S[p + "raw_gamma_attn"] = math.log(0.1 / 0.9) + g(C, std=0.3)
            S[p + "raw_gamma_mlp"] = math.log(0.1 / 0.9) + g(C, std=0.3)
    for i in range(N_PRE):
        block(f"transformer.prelude.{i}.", False)
    for i in range(N_CORE):
        block(f"transformer.core_block.{i}.", True)
    block("transformer.coda.0.", False)
    S["transformer.ln_f.weight"] = 1 + g(C, std=0.1)
    if layer_norm:
        S["transformer.ln_f.bias"] = g(C, std=0.1)
    return S


def reference_logits(S, cfg, tokens):
    """The reference's forward, float64, as its attractor.py reads (blocks: pre-norm)."""
    S = {k: v.double() for k, v in S.items()}
    eps, hd = cfg["norm_eps"], C // H
    def norm(x, name):
        if cfg["norm_class_name"] == "RMSNorm":  # attractor/modules/norms.py, RMSNorm._norm, times weight
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * S[name + ".weight"]
        return F.layer_norm(x, (C,), S[name + ".weight"], S.get(name + ".bias"), eps)
    B, T = tokens.shape
    theta = cfg["rope_settings"]["rope_base"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    freqs = torch.polar(torch.ones(T, hd // 2, dtype=torch.float64), torch.arange(T, dtype=torch.float64)[:, None] * theta)
    def rope(x):  # (B, T, H, hd): rotate interleaved pairs as complex numbers
        xc = torch.view_as_complex(x.reshape(B, T, H, hd // 2, 2).contiguous())
        return torch.view_as_real(xc * freqs[None, :, None, :]).reshape(B, T, H, hd)
    def attn(x, p):
        q, k, v = [(x @ S[p + f"attn.{w}.weight"].t()).view(B, T, H, hd) for w in ("c_q", "c_k", "c_v")]
        q, k = rope(q).transpose(1, 2), rope(k).transpose(1, 2)
        att = (q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        y = att.softmax(-1) @ v.transpose(1, 2)
        return y.transpose(1, 2).reshape(B, T, C) @ S[p + "attn.c_proj.weight"].t()
    def mlp(x, p):
        u = x @ S[p + "mlp.fc.weight"].t()
        # GELU: torch.nn.GELU (exact erf); ReLU2: attractor/modules/basic.py, class Relu2,
        # relu(x).pow(2).mul(0.5) -- the 1/2 is the reference's own.
        h = F.gelu(u) if cfg["nonlin_name"] == "GELU" else F.relu(u).pow(2).mul(0.5)
        return h @ S[p + "mlp.proj.weight"].t()
    def block(x, p, gated):
        a = attn(norm(x, p + "norm_1"), p)
        if gated:
            a = a * torch.sigmoid(S[p + "raw_gamma_attn"]) * cfg["gamma_max"]
        x = x + a
        m = mlp(norm(x, p + "norm_2"), p)
        if gated:
            m = m * torch.sigmoid(S[p + "raw_gamma_mlp"]) * cfg["gamma_max"]
        return x + m
    c = S["transformer.wte.weight"][tokens]
    for i in range(N_PRE):
        c = block(c, f"transformer.prelude.{i}.", False)
    def head(h):
        for i in range(N_CORE):
            h = block(h, f"transformer.core_block.{i}.", True)
        return h
    y = c
    for _ in range(500):  # plain iteration: the gated head is a contraction here
        y_next = head(y + c) - y
        done = (y_next - y).norm() <= 1e-13 * y_next.norm()
        y = y_next
        if done:
            break
    return norm(y, "transformer.ln_f") @ S["transformer.wte.weight"].t()


corpus = os.path.join(work, "corpus.txt")
open(corpus, "w").write("In the beginning God created the heaven and the earth.\n" * 100)
tokens = torch.randint(0, 256, (2, 12))
for label, ln, nonlin in (("GELU + LayerNorm", True, "GELU"), ("ReLU2 + RMSNorm", False, "ReLU2")):
    cfg = ref_config(norm_class_name="LayerNorm" if ln else "RMSNorm", nonlin_name=nonlin)
    S = state_dict(ln)
    tag = nonlin.lower()
    st, cf, out = (os.path.join(work, f"{tag}.{e}") for e in ("safetensors", "json", "run"))
    eqt_safetensors.save(st, S)
    json.dump(cfg, open(cf, "w"))
    r = run("import", st, "--from", "attractor-reference", "--config", cf, "--data", corpus, "--out", out)
    check("coda" in r.stdout, f"{label}: the unused coda is skipped with a note")
    exported = os.path.join(work, f"{tag}.eqt.safetensors")
    run("export", "--run", out, "--out", exported)
    meta, T = eqt_safetensors.load(exported)
    ecfg = json.loads(meta["eqt.model"])
    check(ecfg["family"] == "attractor" and ecfg["vocab"] == 256, f"{label}: an eqt attractor over 256 ids")
    names = list(T)
    def eqt_logits(W):
        P = {n: W[n].double().requires_grad_(W[n].is_floating_point()) for n in names}
        return eqt_ref.forward_loss(P, tokens, tokens, ecfg, names)[1].detach()
    want = reference_logits(S, cfg, tokens)[..., :256]
    got = eqt_logits(T)
    err = (got - want).abs().max().item()
    check(err < 1e-6, f"{label}: eqt's logits equal the reference's (max |d| {err:.2e}, logits ~{want.abs().mean():.2f})")
    # Negative control: the query / key rows as the reference stores them (no permutation).
    W = dict(T)
    for i in range(N_PRE):
        for w, n in (("q", "c_q"), ("k", "c_k")):
            W[f"backbone.{i}.attn.{w}.weight"] = S[f"transformer.prelude.{i}.attn.{n}.weight"]
    bad = (eqt_logits(W) - want).abs().max().item()
    check(bad > 1e-2, f"{label}: without the RoPE row permutation the logits differ (max |d| {bad:.2e})")
    task_meta = json.loads(meta["eqt.task"])
    check(task_meta["seq_len"] == cfg["block_size"] and ecfg["max_seq"] == cfg["block_size"],
          f"{label}: the window defaults to the reference's block_size {cfg['block_size']} "
          f"(seq_len {task_meta['seq_len']}, max_seq {ecfg['max_seq']})")
    e = json.loads(run("eval", "--run", out, "--json").stdout)
    check(e["model"] == "attractor" and math.isfinite(e["bits_per_byte"]), f"{label}: the imported run evaluates ({e['bits_per_byte']:.3f} bits/byte)")

# The window: an explicit --seq-len below block_size wins; one above it is refused by name.
st_gelu, cf_gelu = os.path.join(work, "gelu.safetensors"), os.path.join(work, "gelu.json")
short = os.path.join(work, "short_run")
run("import", st_gelu, "--from", "attractor-reference", "--config", cf_gelu, "--data", corpus, "--seq-len", "32", "--out", short)
short_st = os.path.join(work, "short.safetensors")
run("export", "--run", short, "--out", short_st)
short_task = json.loads(eqt_safetensors.load(short_st)[0]["eqt.task"])
check(short_task["seq_len"] == 32, f"an explicit --seq-len 32 wins over block_size 64 (seq_len {short_task['seq_len']})")
r = run("import", st_gelu, "--from", "attractor-reference", "--config", cf_gelu, "--data", corpus, "--seq-len", "65",
        "--out", os.path.join(work, "long_run"), ok=False)
check(r.returncode != 0 and "block_size 64" in r.stderr and "--seq-len 65" in r.stderr,
      "--seq-len 65 above block_size 64 is refused: " + r.stderr.strip()[:160])
check(not os.path.exists(os.path.join(work, "long_run", "checkpoint.eqt")), "a refused import leaves no run behind")

# Fields of the wrong type are refused naming the key and the config file, never truncated.
def bad_field(what, want, **kw):
    cf = os.path.join(work, "typed.json")
    json.dump(ref_config(**kw), open(cf, "w"))
    r = run("import", st_gelu, "--from", "attractor-reference", "--config", cf, "--data", corpus,
            "--out", os.path.join(work, "typed_run"), ok=False)
    check(r.returncode != 0 and want in r.stderr and "typed.json" in r.stderr and "internal error" not in r.stderr,
          f"{what}: {r.stderr.strip()[:170]}")
bad_field("num_attention_heads 4.9", "'num_attention_heads' is 4.9, expected an integer", num_attention_heads=4.9)
bad_field("n_embd as a string", "'n_embd' is \"32\", expected an integer", n_embd="32")
bad_field("rope_base as a string", "'rope_settings.rope_base'", rope_settings={"rope_base": "x"})
bad_field("qk_norm as a number", "'qk_norm' is 1, expected true or false", qk_norm=1)
bad_field("anderson_m 1e9", "'anderson_m' is 1000000000, expected an integer in [1, 100]", anderson_m=1000000000)
bad_field("max_iter 0", "'max_iter' is 0, expected an integer in [1, 100000]", max_iter=0)

# Architectures eqt does not have, each refused by the name of what differs.
base_S, base_cfg = state_dict(True), ref_config()
def refused(what, want, S=None, cfg=None):
    st, cf = os.path.join(work, "bad.safetensors"), os.path.join(work, "bad.json")
    eqt_safetensors.save(st, S if S is not None else base_S)
    json.dump(cfg if cfg is not None else base_cfg, open(cf, "w"))
    r = run("import", st, "--from", "attractor-reference", "--config", cf, "--data", corpus,
            "--out", os.path.join(work, "bad_run"), ok=False)
    check(r.returncode != 0 and want in r.stderr, f"{what}: {r.stderr.strip()[:170]}")
refused("grouped-query attention", "num_key_value_heads", cfg=ref_config(num_key_value_heads=2))
refused("a SiLU MLP", "nonlin_name SiLU", cfg=ref_config(nonlin_name="SiLU"))
refused("a gated MLP", "mlp_class_name GatedMLP", cfg=ref_config(mlp_class_name="GatedMLP"))
refused("QK bias", "qk_bias", cfg=ref_config(qk_bias=True))
refused("a logit soft-cap", "logit_softcap", cfg=ref_config(logit_softcap=15.0))
refused("a head without gates", "layer_scale_init null", cfg=ref_config(layer_scale_init=None))
refused("untied embeddings", "untied", S={**base_S, "lm_head.weight": torch.randn(PAD, C)})
refused("a learned QK norm", "transformer.prelude.0.attn.q_norm.weight",
        S={**base_S, "transformer.prelude.0.attn.q_norm.weight": torch.ones(C // H)})
refused("a missing tensor", "transformer.prelude.1.attn.c_v.weight",
        S={k: v for k, v in base_S.items() if k != "transformer.prelude.1.attn.c_v.weight"})
r = run("import", os.path.join(work, "gelu.safetensors"), "--from", "attractor-reference", "--out", os.path.join(work, "nocfg"), ok=False)
check(r.returncode != 0 and "--config" in r.stderr, "--from attractor-reference without --config: " + r.stderr.strip()[:120])

checks.finish()
