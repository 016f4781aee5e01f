"""What the checks of the eqt command line share: a scratch folder, BLAS on one thread, `run`
(the binary with arguments; a non-zero exit ends the check unless ok=False), `check` (an
"ok" or "FAIL" line per expectation, failures kept) and `finish` (the exit status).

    checks = Checks(sys.argv[1], "eqt_tok_")
    r = checks.run("train", ...); checks.check(r.returncode == 0, "trains"); checks.finish()
"""
import os
import subprocess
import sys
import tempfile


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

    def check(self, cond, what):
        print(("  ok   " if cond else "  FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)

    def finish(self):
        print(f"{len(self.failures)} failures")
        sys.exit(1 if self.failures else 0)
