#!/usr/bin/env python3
"""`eqt serve` end to end with a real HTTP client (urllib) on a free loopback port: a tiny
attractor text model is trained, the server is started with --port 0 (it prints the port it
bound), and the test checks /health, a completion (text and usage), streaming (the same
text as without), a stop sequence, concurrent requests, 4xx JSON errors for malformed or
out-of-range requests with the server still answering afterwards, and a clean SIGTERM.
Also `eqt generate` (streamed text equals the server's) and its user errors.
Usage: check_serve.py EQT_BINARY"""
import json, os, re, signal, socket, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

eqt = sys.argv[1]
checks = cli_check.Checks(sys.argv[1], "eqt_serve_")
work, env, check, run, failures = checks.work, checks.env, checks.check, checks.run, checks.failures


run_dir = checks.tiny_text_run()

server = subprocess.Popen([eqt, "serve", "--run", run_dir, "--port", "0", "--max-tokens-limit", "64"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
line = server.stdout.readline()
print("  server:", line.strip())
try:
    port = int(line.split("http://127.0.0.1:")[1].split()[0])
except (IndexError, ValueError):
    server.kill()
    raise SystemExit("FAIL: no 'listening on http://127.0.0.1:PORT' line: " + line + server.stderr.read())
base = f"http://127.0.0.1:{port}"


def request(path, body=None, raw=None, timeout=60):
    """-> (status, parsed JSON or raw text); status None when no answer came within timeout"""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    except (TimeoutError, urllib.error.URLError) as e:
        return None, str(e)
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


try:
    st, h = request("/health")
    check(st == 200 and h.get("status") == "ok" and h.get("model") == "attractor", f"GET /health: {st} {h}")

    greedy = {"prompt": "In the beginning", "max_tokens": 24, "temperature": 0}
    st, c = request("/v1/completions", greedy)
    text = c["choices"][0]["text"] if st == 200 else ""
    check(st == 200 and isinstance(text, str) and len(text) > 0, f"completion answered: {st} {text!r}")
    if st == 200:
        u = c["usage"]
        check(u == {"prompt_tokens": 16, "completion_tokens": 24, "total_tokens": 40}, f"usage {u}")
        check(c["choices"][0]["finish_reason"] == "length" and c["object"] == "text_completion",
              "finish_reason length, object text_completion")
        check(c["eqt"]["solver_steps_mean"] > 0, f"solver steps reported: {c['eqt']}")

    # The same request streamed: events carry the same text, then a final event and [DONE].
    req = urllib.request.Request(base + "/v1/completions", data=json.dumps(dict(greedy, stream=True)).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        ctype, body = resp.headers.get("Content-Type", ""), resp.read().decode()
    events = [l[len("data: "):] for l in body.split("\n") if l.startswith("data: ")]
    chunks = [json.loads(e) for e in events[:-1]]
    streamed = "".join(ch["choices"][0]["text"] for ch in chunks)
    check(ctype.startswith("text/event-stream") and events[-1] == "[DONE]", "stream: event-stream ending in [DONE]")
    check(streamed == text, f"stream text equals the non-streamed text ({streamed!r})")
    check(chunks[-1]["choices"][0]["finish_reason"] == "length" and chunks[-1]["usage"]["completion_tokens"] == 24,
          "stream: last event has finish_reason and usage")

    # A stop sequence cuts the text before it.
    if len(text) > 6:
        stop = text[3:6]
        st, c = request("/v1/completions", dict(greedy, stop=[stop]))
        cut = text[:text.find(stop)]
        check(st == 200 and c["choices"][0]["text"] == cut and c["choices"][0]["finish_reason"] == "stop",
              f"stop {stop!r}: {c['choices'][0]['text']!r} == {cut!r}, finish_reason stop")

    # Malformed and out-of-range requests: 4xx JSON errors naming the problem.
    bad = [("malformed JSON", None, b'{"prompt": "abc", '),
           ("not an object", None, b'[1, 2]'),
           ("missing prompt", {"max_tokens": 3}, None),
           ("prompt not a string", {"prompt": 12}, None),
           ("max_tokens a string", {"prompt": "a", "max_tokens": "8"}, None),
           ("max_tokens over the limit", {"prompt": "a", "max_tokens": 65}, None),
           ("negative temperature", {"prompt": "a", "temperature": -1}, None),
           ("top_p 0", {"prompt": "a", "top_p": 0}, None),
           ("stream not a bool", {"prompt": "a", "stream": "yes"}, None),
           ("n = 2", {"prompt": "a", "n": 2}, None),
           ("prompt longer than the context", {"prompt": "x" * 97}, None),
           ("max_steps over --max-request-steps", {"prompt": "a", "max_steps": 65}, None),
           ("negative max_steps", {"prompt": "a", "max_steps": -1}, None),
           ("tol above 1", {"prompt": "a", "tol": 2}, None)]
    for what, body, raw in bad:
        st, e = request("/v1/completions", body, raw)
        msg = e.get("error", {}).get("message", "") if isinstance(e, dict) else ""
        check(st == 400 and msg, f"{what}: {st} {msg!r}")
    st, e = request("/v1/nothing", {"prompt": "a"})
    check(st == 404 and "no route" in e.get("error", {}).get("message", ""), f"unknown route: {st} {e}")
    st, h = request("/health")
    check(st == 200, "still up after the bad requests")

    # Concurrent requests (continuous batching): 12 at once with different prompts and
    # lengths, every other one streamed, one client leaving mid-stream: each of the others
    # gets the greedy text it gets when it is alone on the server.
    def stream_text(body, leave_after=None):
        req = urllib.request.Request(base + "/v1/completions", data=json.dumps(dict(body, stream=True)).encode(),
                                     headers={"Content-Type": "application/json"})
        out = ""
        with urllib.request.urlopen(req, timeout=60) as resp:
            for raw_line in resp:
                line = raw_line.decode()
                if not line.startswith("data: ") or line.strip() == "data: [DONE]":
                    continue
                out += json.loads(line[len("data: "):])["choices"][0]["text"]
                if leave_after is not None and len(out) >= leave_after:
                    return None  # the connection closes here, mid-stream
        return out
    starts = ["In the beginning", "and the", "w", "the light.\nIn the beginning was", "word, and",
              "In", "with the light", "the word was with", "ing was the", "light.", "g", "In the beginning was the"]
    reqs = [{"prompt": p, "max_tokens": 3 + 5 * (i % 5), "temperature": 0} for i, p in enumerate(starts)]
    alone = []
    for r in reqs:
        st, c = request("/v1/completions", r)
        alone.append(c["choices"][0]["text"] if st == 200 else None)
    results = [None] * len(reqs)
    def worker(i):
        if i == 5:
            stream_text(dict(reqs[i], max_tokens=60), leave_after=2)
        elif i % 2:
            results[i] = stream_text(reqs[i])
        else:
            st, c = request("/v1/completions", reqs[i])
            results[i] = c["choices"][0]["text"] if st == 200 else None
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(reqs))]
    for t in threads: t.start()
    for t in threads: t.join()
    same = [i for i in range(len(reqs)) if i != 5 and results[i] is not None and results[i] == alone[i]]
    check(len(same) == len(reqs) - 1, f"{len(reqs)} concurrent requests, each the text it gets alone: {len(same)}/{len(reqs) - 1}")
    st, h = request("/health")
    check(st == 200 and h["batch"]["peak"] >= 3 and h["batch"]["max"] == 32,
          f"still up after a client left mid-stream; requests were decoded together: {h['batch']}")

    # Hostile or careless clients (issue 14). Slow clients: 10 connections that send one
    # header line every 2 s and 20 that send nothing; /health must still answer at once.
    stop_slow = threading.Event()
    def slow_client(trickle):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sk:
                if not trickle:
                    stop_slow.wait(12)
                    return
                sk.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                while not stop_slow.wait(2):
                    sk.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass
    slow = [threading.Thread(target=slow_client, args=(i < 10,)) for i in range(30)]
    for t in slow: t.start()
    time.sleep(1.0)
    waits = []
    for _ in range(5):
        t0 = time.time()
        st, _ = request("/health", timeout=5)
        waits.append(time.time() - t0 if st == 200 else float("inf"))
        time.sleep(1.0)
    stop_slow.set()
    for t in slow: t.join()
    check(max(waits) < 1.5, f"/health answers beside 30 slow clients: worst {max(waits):.2f} s")

    # Bodies over --max-body (1 MiB by default) are refused: with a Content-Length before
    # they are read, chunked ones as soon as they pass it (never buffered whole).
    st, e = request("/v1/completions", raw=b'{"prompt": "' + b"a" * (2 << 20) + b'"}')
    check(st == 413 and "max-body" in str(e), f"a 2 MiB body with a Content-Length: {st} {str(e)[:120]}")
    # A chunked body over --max-body (1 MiB by default) is refused, not buffered.
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    big = b'{"prompt": "' + b"a" * (8 << 20) + b'"}'  # 8 MiB
    chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))
    try:
        conn.request("POST", "/v1/completions", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        got = conn.getresponse().status
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        got = type(e).__name__
    conn.close()
    check(got == 413 or got in ("ConnectionResetError", "BrokenPipeError", "RemoteDisconnected"),
          f"a chunked body over --max-body is refused: {got}")
    st, h = request("/health")
    check(st == 200, "still up after the oversized chunked body")

    # Issue 26. Streaming with a stop sequence loses nothing: the text held back at the end
    # (a tail that might have begun a stop sequence) is in the last event. Stops built to
    # hold back the end of each text: its last one or two characters followed by a byte the
    # model never writes.
    differ = []
    pairs = 0
    for prompt in ["In the beginning", "and the", "the word was with", "light."]:
        base_req = {"prompt": prompt, "max_tokens": 20, "temperature": 0}
        st, c = request("/v1/completions", base_req)
        full = c["choices"][0]["text"] if st == 200 else ""
        for stop in [full[-1:] + "\x01", full[-2:] + "\x01", full[5:8] or "zz", "zz"]:
            pairs += 1
            body = dict(base_req, stop=[stop])
            st, c = request("/v1/completions", body)
            plain = c["choices"][0]["text"] if st == 200 else None
            streamed = stream_text(body)
            if streamed != plain:
                differ.append((prompt, stop, plain, streamed))
    check(not differ, f"streamed text equals the non-streamed text for {pairs} prompt x stop pairs: {differ}")
    # A temperature of 1e-308 samples the most likely token (logits / T overflowed to NaN).
    st, c = request("/v1/completions", dict(greedy, temperature=1e-308))
    tiny_t = c["choices"][0]["text"] if st == 200 else None
    check(tiny_t == text, f"temperature 1e-308 gives the greedy text: {tiny_t!r}")
    # max_tokens above 2^63 - 1 is out of range, reported as given (it was '-1').
    st, e = request("/v1/completions", raw=b'{"prompt": "a", "max_tokens": 18446744073709551615}')
    msg = e.get("error", {}).get("message", "") if isinstance(e, dict) else ""
    check(st == 400 and "18446744073709551615" in msg, f"max_tokens 2^64 - 1: {st} {msg!r}")
    # Two Content-Length headers (request smuggling behind a proxy): refused.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sk:
        payload = b'{"prompt": "a", "max_tokens": 1}'
        sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: " + str(len(payload)).encode() + b"\r\nContent-Length: 5\r\n\r\n" + payload)
        answer = sk.recv(4096).decode(errors="replace")
    check(answer.startswith("HTTP/1.1 400") and "Content-Length" in answer,
          f"two Content-Length headers: {answer.splitlines()[0] if answer else 'no answer'}")

    # A second server on the same port refuses to start instead of sharing it.
    second = subprocess.Popen([eqt, "serve", "--run", run_dir, "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        _, said = second.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # it started: the port is shared between two servers
        second.kill()
        _, said = second.communicate()
        said = "still running after 30 s " + said
    check(second.returncode not in (0, None) and "cannot listen" in said,
          f"a busy port is refused: exit {second.returncode}, {said.strip()}")
finally:
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        code = "hung"
    log = server.stderr.read()
check(code == 0, f"SIGTERM stops the server cleanly (exit {code})")
check("400" in log and "cmpl-" in log, "the server logs requests and errors on stderr")

# Issue 26: --max-tokens-limit holds for a request without max_tokens (the default 16 is
# capped at it), and a non-streamed request whose client has gone stops decoding. The server
# runs with --max-batch 2; 8 clients each ask for the whole context without streaming and
# close their connection right after sending; each such request must have generated only what it did
# before its client left (the log line of each says so), not the whole context.
def start_server(*args):
    p = subprocess.Popen([eqt, "serve", "--run", run_dir, "--port", "0", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    first = p.stdout.readline()
    return p, f"http://127.0.0.1:{int(first.split('http://127.0.0.1:')[1].split()[0])}"
def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
    return p.stderr.read()

limited, base = start_server("--max-tokens-limit", "3")
try:
    st, c = request("/v1/completions", {"prompt": "In the", "temperature": 0})
    n = c["usage"]["completion_tokens"] if st == 200 else None
    check(st == 200 and n == 3, f"--max-tokens-limit 3, max_tokens omitted: {n} tokens")
finally:
    stop_server(limited)

leaving, base = start_server("--max-batch", "2", "--max-tokens-limit", "500")
try:
    def leave_early(i):
        payload = json.dumps({"prompt": "In the beginning", "max_tokens": 500, "temperature": 0}).encode()
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=30) as sk:
            sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            # ... and close at once: the server still reads the whole request, then sees the close
            # within its 50 ms poll (closing later made the first rows' counts depend on load).
    leavers = [threading.Thread(target=leave_early, args=(i,)) for i in range(8)]
    for t in leavers: t.start()
    for t in leavers: t.join()
    t0 = time.time()
    st, c = request("/v1/completions", {"prompt": "In the", "max_tokens": 5, "temperature": 0})
    after = time.time() - t0
    time.sleep(0.5)
finally:
    log = stop_server(leaving)
gone = [int(m.group(1)) for m in re.finditer(r"(\d+) generated \([^)]*\)[^\n]*client went away", log)]
full = 96 - 16  # the context less the prompt: what each would have generated
check(st == 200 and len(gone) == 8 and max(gone) < full // 2,
      f"8 non-streamed clients that left: {len(gone)} stopped early, generated {gone} of {full}; "
      f"the next request answered in {after:.2f} s")

# eqt generate streams the same greedy text as the server, and rejects bad input by name.
r = subprocess.run([eqt, "generate", "--run", run_dir, "--prompt", "In the beginning", "--max-new-tokens", "24",
                    "--temperature", "0", "--stats"], capture_output=True, text=True, env=env)
check(r.returncode == 0 and r.stdout.rstrip("\n") == text.rstrip("\n"), f"eqt generate prints the same text ({r.stdout!r})")
check("mean steps" in r.stderr and r.stderr.count("steps") >= 25, "--stats: a line per token and a summary")
r = subprocess.run([eqt, "generate", "--run", run_dir, "--prompt", "In the beginning", "--max-new-tokens", "24",
                    "--temperature", "1e-308"], capture_output=True, env=env)
out = r.stdout.decode(errors="replace")
check(r.returncode == 0 and b"\x00" not in r.stdout and out.rstrip("\n") == text.rstrip("\n"),
      f"generate --temperature 1e-308 prints the greedy text, no NUL bytes ({out!r})")
for args, want in [(["--top-p", "1.5"], "top_p"), (["--temperature", "-1"], "temperature"),
                   (["--exact-steps", "0", "--tol", "1e-3"], "--exact-steps"), (["--device", "tpu"], "--device"),
                   (["--solver-steps", "2"], "is eval's list of caps; here an exact step count per token is --exact-steps 2")]:
    r = subprocess.run([eqt, "generate", "--run", run_dir, "--prompt", "a", *args], capture_output=True, text=True,
                       env=env)
    check(r.returncode != 0 and want in r.stderr, f"generate {' '.join(args)}: {r.stderr.strip()}")
r = subprocess.run([eqt, "generate", "--run", run_dir, "--prompt", "In the", "--max-new-tokens", "8",
                    "--exact-steps", "0", "--stats"], capture_output=True, env=env)
r.stderr = r.stderr.decode(errors="replace")  # the raw bytes of an undertrained proposal need not be UTF-8
check(r.returncode == 0 and "mean steps 0.00" in r.stderr, "--exact-steps 0 decodes the proposal (0 steps)")

# eqt bench serve: one JSON object, a row per concurrency level, ratios to the first.
r = subprocess.run([eqt, "bench", "serve", "--run", run_dir, "--clients", "1,2", "--requests", "4", "--max-tokens", "4",
                    "--json"], capture_output=True, text=True, env=env, timeout=300)
try:
    b = json.loads(r.stdout)
    rows = b["results"]
    keys = {"clients", "requests", "requests_per_s", "tokens_per_s", "p50_ms", "p99_ms", "ratio_to_first"}
    ok = [row["clients"] for row in rows] == [1, 2] and all(keys <= set(row) for row in rows) and \
        abs(rows[1]["ratio_to_first"] - rows[1]["requests_per_s"] / rows[0]["requests_per_s"]) < 1e-9 and \
        all(row["p99_ms"] >= row["p50_ms"] > 0 for row in rows)
except (json.JSONDecodeError, KeyError, IndexError, ZeroDivisionError) as e:
    ok, rows = False, f"{e}: {r.stdout[:200]} {r.stderr[-300:]}"
check(r.returncode == 0 and ok, f"bench serve --json: {rows}")

if failures:
    raise SystemExit(f"FAIL: {len(failures)} check(s): {failures}")
print("all serve / generate checks passed")
