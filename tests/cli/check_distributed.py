#!/usr/bin/env python3
"""Data-parallel training end to end through the command line (issue 6):
- `eqt train --nproc 2` (2 processes on loopback, global batch B, 20 steps, fixed seed) logs
  the same loss at every step as one process with batch B, to 1e-5 relative, for the
  standard family and the attractor with IFT and with one-step gradients; only rank 0 writes;
- 3 processes with uneven shards and gradient accumulation equal one process;
- a run trained 10 steps on 2 processes and resumed on 1 continues exactly as one process;
- eval --json of a 2-process run has the same keys as of a 1-process run;
- killing one worker (SIGKILL) makes the launcher exit non-zero, naming that rank;
- a hung worker (SIGSTOP) ends the run after --dist-timeout, the message naming that rank,
  also when it stopped while holding the one-host rendezvous file's lock.
Usage: check_distributed.py EQT_BINARY"""
import fcntl, json, os, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

eqt = sys.argv[1]
checks = cli_check.Checks(sys.argv[1], "eqt_dist_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures
for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "EQT_LAUNCHED"):
    env.pop(k, None)


def config(name, model):
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump({"model": model, "train": {"log_every": 1, "warmup": 5, "lr": 0.003, "ema": 0.99},
                   "task": {"length": 8, "n_train": 512, "n_test": 64}}, f)
    return path


def losses(run_dir):
    rows = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl")) if '"loss"' in l]
    return [r["step"] for r in rows], [r["loss"] for r in rows]


def rel(a, b):
    return max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))


small = {"block": {"d_model": 32, "n_heads": 2}, "n_layers": 2}
cases = {
    "standard": ("standard", small),
    "attractor_ift": ("attractor", dict(small, grad={"mode": "ift"}, attractor={"head_layers": 1})),
    "attractor_onestep": ("attractor", dict(small, grad={"mode": "onestep"}, attractor={"head_layers": 1})),
}
common = ["--task", "parity", "--batch", "16", "--steps", "20", "--seed", "3"]
for name, (family, model) in cases.items():
    cfg = config(name, model)
    one, two = os.path.join(work, name + "_1"), os.path.join(work, name + "_2")
    run("train", "--model", family, "--config", cfg, *common, "--out", one)
    r = run("train", "--model", family, "--config", cfg, *common, "--nproc", "2", "--out", two)
    s1, l1 = losses(one)
    s2, l2 = losses(two)
    check(s2 == list(range(1, 21)), f"{name}: rank 0 alone logged steps 1..20 once each ({len(s2)} lines)")
    err = rel(l2, l1) if len(l1) == len(l2) == 20 else float("inf")
    check(err <= 1e-5, f"{name}: 2-process losses equal 1-process, 20 steps, max relative difference {err:.2e}")
    check(l1[-1] < l1[0], f"{name}: it trains (loss {l1[0]:.4f} -> {l1[-1]:.4f})")
    check("data parallel over 2 processes (gloo)" in r.stdout, f"{name}: the run says it is data parallel")

# Uneven shards (batch 10 over 3 processes: 3, 3, 4 rows) with gradient accumulation (3
# micro-batches, only the last one communicating), attractor with IFT gradients.
acc = os.path.join(work, "accum.json")
with open(acc, "w") as f:
    json.dump({"model": cases["attractor_ift"][1], "train": {"log_every": 1, "accum": 3, "warmup": 5},
               "task": {"length": 8, "n_train": 512, "n_test": 64}}, f)
la = {}
for n in (1, 3):
    d = os.path.join(work, f"accum_{n}")
    run("train", "--model", "attractor", "--config", acc, "--task", "parity", "--batch", "10", "--steps", "10",
        "--nproc", str(n), "--out", d)
    la[n] = losses(d)[1]
err = rel(la[3], la[1]) if len(la[1]) == len(la[3]) == 10 else float("inf")
check(err <= 1e-5, f"3 processes, uneven shards, accum 3: losses equal 1 process, max relative difference {err:.2e}")

# Resume with any N: 10 steps, then --resume to 20, with the process counts (first, then)
# (2, 1) and (1, 2), equal (1, 1) at every step.
cfg = config("attractor_ift", cases["attractor_ift"][1])
mixed = {}
for first, then in [(1, 1), (2, 1), (1, 2)]:
    d = os.path.join(work, f"resume_{first}_{then}")
    run("train", "--model", "attractor", "--config", cfg, "--task", "parity", "--batch", "16", "--steps", "10",
        "--seed", "3", "--nproc", str(first), "--out", d)
    run("train", "--out", d, "--resume", "--steps", "20", "--nproc", str(then))
    mixed[first, then] = losses(d)[1]
for key in [(2, 1), (1, 2)]:
    ok = len(mixed[key]) == 20 == len(mixed[1, 1])
    err = rel(mixed[key], mixed[1, 1]) if ok else float("inf")
    check(err <= 1e-5, f"resume: 10 steps on {key[0]} process(es) + 10 on {key[1]} equal 1 + 1, "
          f"max relative difference {err:.2e}")

# The multi-host way: each rank started on its own with the torchrun variables (no launcher).
port = None
import socket
with socket.socket() as so:
    so.bind(("127.0.0.1", 0))
    port = so.getsockname()[1]
manual = os.path.join(work, "manual")
cfg = config("standard", cases["standard"][1])
procs = []
for rank in (0, 1):
    e = dict(env, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    procs.append(subprocess.Popen([eqt, "train", "--model", "standard", "--config", cfg, *common, "--out", manual],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e))
outs = [p.communicate(timeout=300) for p in procs]
check(all(p.returncode == 0 for p in procs), "torchrun variables: two ranks started by hand both exit 0")
check(outs[1][0].strip() == "", "torchrun variables: rank 1 prints nothing")
_, lman = losses(manual)
_, l2 = losses(os.path.join(work, "standard_2"))
err = rel(lman, l2) if len(lman) == len(l2) == 20 else float("inf")
check(err <= 1e-6, f"torchrun variables: losses equal the --nproc 2 run, max relative difference {err:.2e}")

# eval --json reads a 2-process run like any other.
e1 = json.loads(run("eval", "--run", os.path.join(work, "attractor_ift_1"), "--json").stdout)
e2 = json.loads(run("eval", "--run", os.path.join(work, "attractor_ift_2"), "--json").stdout)
check(set(e1) == set(e2) and e2["model"] == "attractor", "eval --json of a 2-process run has the 1-process keys")


def workers(launcher_pid):
    """{rank: pid} of the launcher's children, read from their environment."""
    out = {}
    kids = open(f"/proc/{launcher_pid}/task/{launcher_pid}/children").read().split()
    for pid in map(int, kids):
        try:
            envs = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        for e in envs:
            if e.startswith(b"RANK="):
                out[int(e[5:])] = pid
    return out


def long_run(out, *extra):
    p = subprocess.Popen([eqt, "train", "--model", "standard", "--config", config("long", small), "--task", "parity",
                          "--batch", "16", "--steps", "100000", "--nproc", "2", "--out", out, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until training is under way
        m = os.path.join(out, "metrics.jsonl")
        if os.path.exists(m) and os.path.getsize(m) > 0 and len(workers(p.pid)) == 2:
            return p
        time.sleep(0.2)
    p.kill()
    raise SystemExit("FAIL: the 2-process run did not start within 120 s")


def listening(pids):
    """Local addresses of the TCP sockets in LISTEN state that these processes hold."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in open(table).read().splitlines()[1:]:
            f = row.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                out.append(f[1])
    return out


def loopback(addr):
    ip = addr.split(":")[0]
    return ip == "0100007F" or ip == "00000000000000000000000001000000"  # 127.0.0.1, ::1


def disrupt(what, sig, limit, expect, *extra, hold_store_lock=False):
    """Sends sig to rank 1 of a running 2-process run; the launcher must exit non-zero within
    limit seconds with `expect` (formatted with the victim's pid) in its stderr. With
    hold_store_lock, this test holds the flock of the one-host rendezvous file (c10d's
    FileStore) meanwhile: what a rank stopped in the middle of a store operation leaves."""
    p = long_run(os.path.join(work, what.replace(" ", "_")), *extra)
    ranks = workers(p.pid)
    victim = ranks[1]
    lock = None
    if hold_store_lock:
        store = [e[len("EQT_STORE_FILE="):] for e in open(f"/proc/{victim}/environ").read().split("\0")
                 if e.startswith("EQT_STORE_FILE=")]
        check(len(store) == 1, f"{what}: the workers rendezvous through a file ({store})")
        lock = open(store[0], "rb")
        fcntl.flock(lock, fcntl.LOCK_EX)
    if what == "killed worker":  # a one-host run listens on loopback only (no store on every interface)
        addrs = listening([p.pid, *ranks.values()])
        check(all(loopback(a) for a in addrs), f"the workers listen on loopback only: {addrs}")
    t0 = time.time()
    os.kill(victim, sig)
    try:
        _, err = p.communicate(timeout=limit)
        took = time.time() - t0
        check(p.returncode != 0, f"{what}: the launcher exits non-zero ({p.returncode}) after {took:.1f} s")
        if sig == signal.SIGSTOP:  # timeout 5 s + report window 3 s + 2 s for the others to fail, then SIGTERM
            check(took < 30, f"{what}: ... within 30 s of the stop ({took:.1f} s)")
        check(expect.format(pid=victim) in err, f"{what}: the message names rank 1: " + err.strip())
    except subprocess.TimeoutExpired:
        p.kill()
        check(False, f"{what}: the launcher did not exit within {limit} s")
    finally:
        if lock:
            lock.close()
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


disrupt("killed worker", signal.SIGKILL, 60, "worker rank 1 (pid {pid}) was killed by signal 9")
disrupt("hung worker", signal.SIGSTOP, 90, "stopped making progress: rank 1", "--dist-timeout", "5")
# Issue 26, item 14: per-step progress marks went through the FileStore, whose every operation
# takes an flock on one file; a rank stopped inside one blocked the others forever (the test
# above hung about once in three runs). Holding that lock here makes the case certain.
disrupt("hung worker holding the store lock", signal.SIGSTOP, 90, "stopped making progress: rank 1",
        "--dist-timeout", "5", hold_store_lock=True)

bad = run("train", "--model", "standard", "--task", "parity", "--batch", "1", "--nproc", "2", "--steps", "1",
          "--out", os.path.join(work, "bad"), ok=False)
check(bad.returncode != 0 and "--batch 1 does not split over --nproc 2" in bad.stderr, "batch < nproc is refused: " +
      bad.stderr.strip())

checks.finish()
