#!/usr/bin/env python3
"""Which WSGI server `banyan serve` should use: requests/s of the real API on each.

    python3 bench/wsgi_servers.py [--seconds 5] [--clients 1 4]

For each candidate (waitress, cheroot, gunicorn gthread, and wsgiref as the floor),
serves `banyan.api.app.make_app` on 127.0.0.1 over a fresh state folder, then drives
it from keep-alive clients for a fixed time: a status GET, and a submit POST (which
fsyncs). Prints one RESULT line per server, route and concurrency.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import free_port, rate  # noqa: E402

SERVE = {
    "waitress": "import waitress; waitress.serve(app, host='127.0.0.1', port=PORT, threads=8, _quiet=True)",
    "cheroot": "from cheroot import wsgi; wsgi.Server(('127.0.0.1', PORT), app, numthreads=8).start()",
    "wsgiref": "from wsgiref.simple_server import make_server, WSGIRequestHandler\n"
               "WSGIRequestHandler.log_message = lambda *a: None\n"
               "make_server('127.0.0.1', PORT, app).serve_forever()",
}
APP = ("import sys; sys.path.insert(0, ROOT)\nfrom banyan.api.app import make_app\n"
       "from banyan.spool import Spool\napp = make_app(Spool(STATE))\n")



def start(server: str, state: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT)
    if server == "gunicorn":
        with open(os.path.join(state, "..", "gapp.py"), "w") as f:
            f.write(APP.replace("ROOT", repr(ROOT)).replace("STATE", repr(state)))
        cmd = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-k", "gthread",
               "--threads", "8", "-w", "1", "--chdir", os.path.dirname(state), "gapp:app"]
    else:
        code = (APP + SERVE[server]).replace("ROOT", repr(ROOT)).replace("STATE", repr(state))
        cmd = [sys.executable, "-c", code.replace("PORT", str(port))]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{server} did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--servers", nargs="+", default=["waitress", "cheroot", "gunicorn", "wsgiref"])
    args = ap.parse_args()
    job = json.dumps({"commands": [{"exec": ["true"]}]}).encode()
    for server in args.servers:
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "state")
            os.makedirs(state)
            port = free_port()
            proc = start(server, state, port)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port)
                conn.request("POST", "/scheduler/jobs/new", body=job, headers={"Content-Type": "application/json"})
                job_id = json.loads(conn.getresponse().read())["request_id"]
                for clients in args.clients:
                    for label, method, path, body in (
                            ("status GET", "GET", f"/scheduler/jobs/{job_id}/status", None),
                            ("submit POST", "POST", "/scheduler/jobs/new", job)):
                        per_second = rate(port, args.seconds, clients, method, path, body,
                                          want=201 if method == "POST" else 200)
                        print(f"RESULT {server:9} {label:12} c={clients}  {per_second:8.0f} req/s", flush=True)
            finally:
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()
