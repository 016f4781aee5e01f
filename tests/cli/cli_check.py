"""What the checks of the eqt command line share: a scratch folder, BLAS on one thread, `run`
(the binary with arguments; a non-zero exit ends the check unless ok=False), `check` (an
"ok" or "FAIL" line per expectation, failures kept) and `finish` (the exit status).

    checks = Checks(sys.argv[1], "eqt_tok_")
    r = checks.run("train", ...); checks.check(r.returncode == 0, "trains"); checks.finish()

`tiny_text_run` trains the tiny byte-level text model the serve, page and Python checks
share (30 steps on one repeated sentence, a few seconds).
"""
import json
import os
import subprocess
import sys
import tempfile

TINY_TEXT_CONFIG = {"model": {"block": {"d_model": 32, "n_heads": 2}, "n_layers": 1, "max_seq": 96},
                    "train": {"steps": 30, "batch": 8, "lr": 0.01, "warmup": 5, "log_every": 10, "eval_every": 30,
                              "eval_batches": 1},
                    "task": {"seq_len": 32, "val_windows": 16}}


def tiny_text_run(eqt, work, env, model="attractor", name="run", threads=None):
    """Trains `model` on work/corpus.txt (written once) with TINY_TEXT_CONFIG into work/name
    (--threads threads when given) and returns that folder; a failed training ends the check."""
    corpus, config = os.path.join(work, "corpus.txt"), os.path.join(work, "tiny.json")
    if not os.path.exists(corpus):
        with open(corpus, "w") as f:
            f.write("In the beginning was the word, and the word was with the light.\n" * 200)
        with open(config, "w") as f:
            json.dump(TINY_TEXT_CONFIG, f)
    out = os.path.join(work, name)
    r = subprocess.run([eqt, *(["--threads", str(threads)] if threads else []), "train", "--model", model, "--task",
                        "text", "--data", corpus, "--config", config, "--out", out], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"FAIL: training the tiny {model} text model")
    return out


class Checks:
    def __init__(self, eqt, prefix):
        self.eqt = eqt
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        self.failures = []

    def run(self, *args, ok=True):
        r = subprocess.run([self.eqt, *args], capture_output=True, text=True, env=self.env)
        if ok and r.returncode != 0:
            print(r.stdout, r.stderr)
            raise SystemExit(f"FAIL: eqt {' '.join(args)} exited {r.returncode}")
        return r

    def tiny_text_run(self, model="attractor", name="run", threads=None):
        return tiny_text_run(self.eqt, self.work, self.env, model, name, threads)

    def check(self, cond, what):
        print(("  ok   " if cond else "  FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)

    def finish(self):
        print(f"{len(self.failures)} failures")
        sys.exit(1 if self.failures else 0)
