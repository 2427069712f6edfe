#!/usr/bin/env python3
"""The cost of CGI: a status GET through busybox httpd + bin/banyan.cgi, against a CGI
script that only imports bottle, in the same run; and `banyan serve` under 4 clients.

    python3 bench/cgi.py [--requests 200] [--clients 4] [--seconds 5]

1. Compiles banyan's bytecode (an installed package has it; this machine sets
   PYTHONDONTWRITEBYTECODE, so a checkout would recompile on every request).
2. Starts `busybox httpd` on 127.0.0.1 with two scripts in cgi-bin: banyan.cgi and
   bottle.cgi (`import bottle`, print a header); submits one job; then alternates
   GET /cgi-bin/banyan.cgi/scheduler/jobs/<id>/status and GET /cgi-bin/bottle.cgi,
   one connection each, `--requests` times each. Ratio = median banyan / median bottle.
3. Starts `banyan serve` and has `--clients` threads, each with one keep-alive
   connection, GET the same status for `--seconds`: requests/s in total.
Prints one `RESULT` line per figure (bench/harness.py's format).
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from frontends import Busybox, free_port, wait_listening  # noqa: E402
from harness import load, note, percentile, rate, report  # noqa: E402

BOTTLE_CGI = """#!/usr/bin/env python3
import bottle
print("Content-Type: text/plain\\r\\nContent-Length: 3\\r\\n\\r\\nok")
"""


def timed_get(port: int, path: str) -> float:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: {resp.status}")
    return time.perf_counter() - t0


def cgi_ratio(work: str, state: str, requests: int) -> None:
    server = Busybox(work, state, scripts={"bottle.cgi": BOTTLE_CGI})
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/cgi-bin/banyan.cgi/scheduler/jobs/new",
                     body=json.dumps({"commands": [{"exec": ["true"]}]}),
                     headers={"Content-Type": "application/json"})
        job_id = json.loads(conn.getresponse().read())["request_id"]
        conn.close()
        status = f"/cgi-bin/banyan.cgi/scheduler/jobs/{job_id}/status"
        for _ in range(5):  # warm the page cache for both
            timed_get(server.port, status)
            timed_get(server.port, "/cgi-bin/bottle.cgi")
        ours, base = [], []
        for _ in range(requests):
            ours.append(timed_get(server.port, status))
            base.append(timed_get(server.port, "/cgi-bin/bottle.cgi"))
    finally:
        server.stop()
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    report("banyan.cgi (busybox httpd)", "status GET", "ms", [m_ours * 1000])
    report("bottle.cgi (busybox httpd)", "import bottle only", "ms", [m_base * 1000])
    note(f"CGI: {requests} requests each; banyan.cgi p95 {percentile(ours, 0.95) * 1000:.1f} ms, "
         f"{1 / m_ours:.1f} req/s; ratio {m_ours / m_base:.2f} (target <= 1.3)")


def serve_rate(state: str, clients: int, seconds: float) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "banyan", "--state", state, "serve",
                             "--listen", f"127.0.0.1:{port}"], env=env)
    try:
        wait_listening(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/scheduler/jobs?limit=1")
        job_id = json.loads(conn.getresponse().read())["jobs"][0]["id"]
        path = f"/scheduler/jobs/{job_id}/status"
        per_second = rate(port, seconds, clients, "GET", path, None, want=200)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    report("banyan serve", f"status GET c={clients}", "req/s", [per_second])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    if not shutil.which("busybox"):
        print("bench/cgi.py: busybox is not installed", file=sys.stderr)
        return 2
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "banyan")],
                   check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="banyan-bench-cgi-")
    try:
        state = os.path.join(work, "state")
        from banyan.spool import Spool
        Spool(state)
        note(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {load()}")
        cgi_ratio(work, state, args.requests)
        serve_rate(state, args.clients, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
