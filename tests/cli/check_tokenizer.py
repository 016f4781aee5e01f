#!/usr/bin/env python3
"""Subword tokenizers end to end (issue 17): `eqt tokenizer train` writes a SentencePiece
model that gives its text back byte for byte; a text run with --tokenizer trains, evaluates
(bits per byte = loss / ln 2 / bytes per token), generates and serves text; the run records
the tokenizer's file and hash, so a moved file is found with --tokenizer, a changed one is
refused, and an exported safetensors file carries it in its metadata.
Skips (exit 77) when eqt was built without SentencePiece.
Usage: check_tokenizer.py EQT_BINARY"""
import json, math, os, shutil, struct, subprocess, sys, tempfile, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

eqt = sys.argv[1]
checks = cli_check.Checks(sys.argv[1], "eqt_tok_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures


corpus = os.path.join(work, "corpus.txt")
words = ["and", "the", "of", "he", "said", "unto", "them", "lord", "god", "land", "king", "house", "\u00e9t\u00e9"]
with open(corpus, "w", encoding="utf-8") as f:
    for i in range(3000):
        f.write(f"{i % 50 + 1}:{i % 7 + 1} " + " ".join(words[(i * 7 + k * 5) % len(words)] for k in range(6)) + ".\n")

tok = os.path.join(work, "tok.model")
r = run("tokenizer", "train", "--data", corpus, "--vocab", "400", "--out", tok, ok=False)
if r.returncode != 0 and "without SentencePiece" in r.stderr:
    print("  skip: " + r.stderr.strip())
    sys.exit(77)
check(r.returncode == 0 and os.path.exists(tok) and "byte for byte" in r.stdout, "tokenizer train: " + r.stdout.strip())
bpt = float(r.stdout.split(" bytes per token")[0].split(", ")[-1])
check(bpt > 2.0, f"the tokenizer compresses its corpus ({bpt} bytes per token)")
bad = run("tokenizer", "train", "--data", corpus, "--vocab", "400", "--out", tok, ok=False)
check(bad.returncode != 0 and "already exists" in bad.stderr, "an existing --out is not overwritten: " + bad.stderr.strip())
latin1 = os.path.join(work, "latin1.txt")
open(latin1, "wb").write(b"caf\xe9\n" * 100)
bad = run("tokenizer", "train", "--data", latin1, "--out", os.path.join(work, "x.model"), ok=False)
check(bad.returncode != 0 and "latin1.txt:1:4" in bad.stderr, "non-UTF-8 data is named with line:col: " + bad.stderr.strip())

# Issue 26: inputs on which SentencePiece logs a warning or an error crashed the process
# (SIGSEGV in ostream's sentry inside the module). Each must end with a model or a clear
# error (exit 1 or 2), never a signal; SentencePiece's own messages reach stderr.
import random
random.seed(0)
odd = {"one line": b"a\n",
       "one 114 KB line": (" ".join(random.choice(words) for _ in range(20000)) + "\n").encode(),
       "NUL bytes": b"abc\x00def\x00\n" * 200,
       "only non-ASCII": ("\u00e9\u00e8\u4e2d\u6587 \u03b1\u03b2\u03b3\n" * 300).encode()}
for i, (what, data) in enumerate(odd.items()):
    path = os.path.join(work, f"odd{i}.txt")
    open(path, "wb").write(data)
    for extra in (["--vocab", "300"], ["--vocab", "300", "--type", "unigram"], ["--vocab", "1000000"]):
        out = os.path.join(work, f"odd{i}_{extra[1]}_{len(extra)}.model")
        r = run("tokenizer", "train", "--data", path, *extra, "--out", out, ok=False)
        last = (r.stderr.strip().splitlines() or [""])[-1]
        check(r.returncode in (0, 1, 2) and (r.returncode == 0) == os.path.exists(out),
              f"tokenizer train on {what} {' '.join(extra)}: exit {r.returncode} {last[:150]}")

config = os.path.join(work, "tiny.json")
json.dump({"model": {"block": {"d_model": 32, "n_heads": 2}, "n_layers": 1, "max_seq": 96},
           "train": {"steps": 20, "batch": 8, "lr": 0.01, "warmup": 5, "log_every": 10, "eval_every": 20,
                     "eval_batches": 1},
           "task": {"seq_len": 24, "val_windows": 16}}, open(config, "w"))
run_dir = os.path.join(work, "run")
run("train", "--model", "standard", "--task", "text", "--data", corpus, "--tokenizer", tok, "--config", config,
    "--out", run_dir)
task = json.load(open(os.path.join(run_dir, "config.json")))["task"]
check(task["tokenizer"] == tok and task["tokenizer_hash"].startswith("fnv1a64:"), f"the run records its tokenizer: {task}")
check(json.load(open(os.path.join(run_dir, "config.json")))["model"]["vocab"] == 400, "the model reads the tokenizer's 400 ids")
ev = json.loads(run("eval", "--run", run_dir, "--json").stdout)
ratio = ev["loss"] / math.log(2) / ev["bits_per_byte"]
check(1.5 < ratio < 6, f"bits per byte = loss / ln 2 / bytes per token (implied {ratio:.3f} bytes per token)")

gen = run("generate", "--run", run_dir, "--prompt", "1:1 the lord", "--max-new-tokens", "12", "--temperature", "0")
check(len(gen.stdout.strip()) > 5 and "<" not in gen.stdout, f"generate continues the prompt in text: {gen.stdout!r}")

# The file moves: the run names where it looked; --tokenizer says where it is now.
moved = os.path.join(work, "moved.model")
shutil.move(tok, moved)
bad = run("eval", "--run", run_dir, "--json", ok=False)
check(bad.returncode != 0 and tok in bad.stderr, "a missing tokenizer file is named: " + bad.stderr.strip())
ev2 = json.loads(run("eval", "--run", run_dir, "--json", "--tokenizer", moved).stdout)
check(abs(ev2["bits_per_byte"] - ev["bits_per_byte"]) < 1e-9, "eval --tokenizer NEW_PATH evaluates the same")
gen2 = run("generate", "--run", run_dir, "--tokenizer", moved, "--prompt", "1:1 the lord", "--max-new-tokens", "12",
           "--temperature", "0")
check(gen2.stdout == gen.stdout, "generate --tokenizer NEW_PATH gives the same text")
# Another tokenizer at that path: refused, not silently used.
other = os.path.join(work, "other.model")
run("tokenizer", "train", "--data", corpus, "--vocab", "410", "--out", other)
bad = run("eval", "--run", run_dir, "--json", "--tokenizer", other, ok=False)
check(bad.returncode != 0 and "changed" in bad.stderr, "another tokenizer is refused: " + bad.stderr.strip())

# serve: a completion in text through the run's tokenizer.
server = subprocess.Popen([eqt, "serve", "--run", run_dir, "--tokenizer", moved, "--port", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
try:
    line = server.stdout.readline()
    port = int(line.split("http://127.0.0.1:")[1].split()[0])
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions",
                                 data=json.dumps({"prompt": "1:1 the lord", "max_tokens": 12, "temperature": 0}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        c = json.loads(resp.read().decode())
    text = c["choices"][0]["text"]
    check(text.rstrip("\n") == gen.stdout.rstrip("\n"), f"serve completes in text, as generate does: {text!r}")
    check(c["usage"]["completion_tokens"] == 12, f"usage counts tokenizer tokens: {c['usage']}")
except Exception as e:  # noqa: BLE001 - reported as a failure with the server's output
    check(False, f"serve with a tokenizer: {e!r}")
finally:
    server.terminate()
    server.wait(timeout=30)

# export carries the tokenizer (file and hash) in its metadata.
st = os.path.join(work, "run.safetensors")
run("export", "--run", run_dir, "--out", st)
with open(st, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    meta = json.loads(f.read(n))["__metadata__"]
t = json.loads(meta["eqt.task"])
check(t.get("tokenizer_hash") == task["tokenizer_hash"], "the safetensors metadata holds the tokenizer's hash")

checks.finish()
