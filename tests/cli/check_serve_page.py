#!/usr/bin/env python3
"""The page of `eqt serve` in a real browser: headless Chromium (Debian's chromium, driven
through chromedriver's WebDriver HTTP API with urllib) loads http://127.0.0.1:PORT/ from a
server running a tiny trained attractor text model, types a prompt, presses Generate and
waits for the stream to end. Checks: the page asks for nothing outside the server (offline);
the rendered tokens are the server's own greedy completion, token by token, with the steps
the API reports for each; the shade follows the steps (more steps, darker; equal steps,
equal shade) and the hover text gives the residual; a per-request step cap typed into the
page reaches the server (every token at most that many steps); a bad request shows the
server's error. Saves a screenshot (SCREENSHOT or the scratch folder). With RUN_DIR, that
run is served instead of a freshly trained tiny one (how docs/images/serve_page.png was made).
Usage: check_serve_page.py EQT_BINARY [SCREENSHOT.png [RUN_DIR [PROMPT]]]"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_check  # noqa: E402

checks = cli_check.Checks(sys.argv[1], "eqt_page_")
work, env, check, run = checks.work, checks.env, checks.check, checks.run
shot = sys.argv[2] if len(sys.argv) > 2 else os.path.join(work, "page.png")

chromium = shutil.which("chromium") or "/usr/bin/chromium"
driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not (os.path.exists(chromium) and os.path.exists(driver)):
    print("SKIP: the browser test needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)")
    sys.exit(77)

run_dir = sys.argv[3] if len(sys.argv) > 3 else checks.tiny_text_run(threads=1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# A loose stop (no minimum, tol 1e-5): this model's tokens then take 5 to 7 steps, so the
# shading has levels to show.
server = subprocess.Popen([sys.argv[1], "--threads", "1", "serve", "--run", run_dir, "--port", "0", "--min-steps", "0",
                           "--tol", "1e-5"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
line = server.stdout.readline()
m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
if not m:
    raise SystemExit("FAIL: the server did not start: " + line + server.stderr.read())
base = f"http://127.0.0.1:{m.group(1)}"
print("  server:", line.strip())

dport = free_port()
chromedriver = subprocess.Popen([driver, f"--port={dport}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wd = f"http://127.0.0.1:{dport}"
session = None
try:
    # The page alone: served by the binary, nothing fetched from elsewhere.
    status, page = http("GET", base + "/")
    page = page.decode()
    check(status == 200 and "<textarea id=\"prompt\"" in page, f"GET / serves the page ({len(page)} bytes)")
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page) + re.findall(r"@import|url\(http", page)
    check(not external, f"the page loads nothing from elsewhere (found {external})")

    # The server's own greedy completion, non-streamed, for comparison.
    prompt = sys.argv[4] if len(sys.argv) > 4 else "In the beg"
    status, body = http("POST", base + "/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0})
    api = json.loads(body)
    api_tokens = api["eqt"]["tokens"]
    check(status == 200 and len(api_tokens) == 24 and "".join(t["text"] for t in api_tokens) == api["choices"][0]["text"],
          f"the API reports each token's text, steps and residual ({len(api_tokens)} tokens)")

    for _ in range(100):  # chromedriver takes a moment to listen
        try:
            if http("GET", wd + "/status", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,760",
                 f"--user-data-dir={os.path.join(work, 'profile')}"]}}}}
    status, body = http("POST", wd + "/session", caps, timeout=120)
    if status != 200:
        raise SystemExit(f"FAIL: chromedriver could not start Chromium ({status}): {body[:600]!r}")
    session = json.loads(body)["value"]["sessionId"]
    S = f"{wd}/session/{session}"
    ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

    def script(js, *args):
        status, body = http("POST", S + "/execute/sync", {"script": js, "args": list(args)})
        if status != 200:
            raise SystemExit(f"FAIL: script failed: {body[:400]!r}")
        return json.loads(body)["value"]

    def element(css):
        status, body = http("POST", S + "/element", {"using": "css selector", "value": css})
        if status != 200:
            raise SystemExit(f"FAIL: no element {css} on the page")
        return json.loads(body)["value"][ELEMENT]

    def type_into(css, text):
        e = element(css)
        http("POST", f"{S}/element/{e}/clear", {})
        http("POST", f"{S}/element/{e}/value", {"text": text})

    def generate(timeout=90):
        script("document.body.dataset.state = '';")
        http("POST", f"{S}/element/{element('#go')}/click", {})
        t0 = time.time()
        state = ""
        while time.time() - t0 < timeout:
            state = script("return document.body.dataset.state || '';")
            if state in ("done", "error", "stopped"):
                break
            time.sleep(0.1)
        return state

    def rendered():
        return script("""return Array.from(document.querySelectorAll('#out .tok')).map(s =>
            ({text: s.textContent, steps: Number(s.dataset.steps), residual: s.dataset.residual,
              title: s.title, bg: getComputedStyle(s).backgroundColor}));""")

    http("POST", S + "/url", {"url": base + "/"})
    facts = ""
    for _ in range(50):
        facts = script("return document.getElementById('model').textContent;")
        if "attractor" in facts:
            break
        time.sleep(0.1)
    check("attractor" in facts and "parameters" in facts, f"the page shows the model's facts: {facts[:90]!r}")

    type_into("#prompt", prompt)
    type_into("#max_tokens", "24")
    state = generate()
    check(state == "done", f"the completion streamed to the end (state {state!r})")
    toks = rendered()
    check([t["text"] for t in toks] == [t["text"] for t in api_tokens],
          f"the page shows the server's greedy tokens: {''.join(t['text'] for t in toks)!r}")
    check([t["steps"] for t in toks] == [t["steps"] for t in api_tokens],
          f"each token carries its steps: {[t['steps'] for t in toks]}")
    check(all("residual" in t["title"] and "steps" in t["title"] for t in toks),
          f"hover text per token, e.g. {toks[0]['title'] if toks else None!r}")

    def lightness(rgb):
        r, g, b = [int(v) for v in re.findall(r"\d+", rgb)[:3]]
        return (max(r, g, b) + min(r, g, b)) / 2

    by_steps = {}
    for t in toks:
        by_steps.setdefault(t["steps"], set()).add(t["bg"])
    same = all(len(v) == 1 for v in by_steps.values())
    levels = sorted(by_steps)
    darker = all(lightness(next(iter(by_steps[a]))) > lightness(next(iter(by_steps[b])))
                 for a, b in zip(levels, levels[1:]))
    check(len(levels) >= 2, f"the tokens took different step counts ({levels}), so the shading is tested")
    check(same and darker, f"equal steps, equal shade; more steps, darker ({[(s, next(iter(by_steps[s]))) for s in levels]})")
    summary = script("return document.getElementById('summary').textContent;")
    check("24 tokens" in summary and "steps per token" in summary, f"summary line: {summary!r}")
    status, png = http("GET", S + "/screenshot")
    if status == 200:
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(base64.b64decode(json.loads(png)["value"]))
    check(status == 200 and os.path.getsize(shot) > 5000, f"screenshot saved: {shot}")

    # A per-request cap from the page reaches the server.
    type_into("#max_steps", "2")
    state = generate()
    capped = rendered()
    check(state == "done" and capped and max(t["steps"] for t in capped) <= 2 < max(levels),
          f"step cap 2 typed into the page: every token <= 2 steps ({sorted(set(t['steps'] for t in capped))})")
    # A bad request shows the server's error message.
    type_into("#max_steps", "")
    type_into("#temperature", "7")
    state = generate()
    err = script("return document.getElementById('error').textContent;")
    check(state == "error" and "temperature" in err, f"a bad request shows the server's error: {err!r}")
finally:
    if session:
        http("DELETE", f"{wd}/session/{session}")
    chromedriver.terminate()
    server.terminate()
    try:
        chromedriver.wait(timeout=10)
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        chromedriver.kill()
        server.kill()
checks.finish()
