#!/usr/bin/env python3
"""`eqt env` refuses a slow BLAS (issue 27: the old test only checked the host's BLAS, so it
could not fail for eqt's sake). With Debian's reference BLAS first on the library path,
`eqt env` must exit non-zero and name it; with the default (the OpenBLAS that setup.sh
installs) it must pass. Skipped (exit 77) where the reference BLAS is not installed.
Usage: check_env_blas.py EQT_BINARY"""
import os, subprocess, sys

eqt = sys.argv[1]
reference = "/usr/lib/x86_64-linux-gnu/blas"
failures = []


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


r = subprocess.run([eqt, "env"], capture_output=True, text=True)
check(r.returncode == 0, f"eqt env with the installed BLAS: exit {r.returncode} {r.stderr.strip()[:200]}")
if not os.path.exists(os.path.join(reference, "libblas.so.3")):
    print(f"skip: no reference BLAS in {reference}")
    sys.exit(77 if not failures else 1)
r = subprocess.run([eqt, "env"], capture_output=True, text=True,
                   env=dict(os.environ, LD_LIBRARY_PATH=reference))
check(r.returncode != 0 and "slow BLAS" in r.stderr and "reference libblas" in r.stderr,
      f"eqt env with the reference BLAS first: exit {r.returncode}, {r.stderr.strip()[:200]}")
sys.exit(1 if failures else 0)
