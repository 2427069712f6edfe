#!/usr/bin/env python3
"""Figures for the Slurm backend: what a processor adds on top of Slurm itself.

    bash tests/slurm_cluster.sh start && . /tmp/banyan-slurm/env
    python3 bench/slurm_backend.py [--jobs 40]

Starts `banyan processor --backend slurm` on 127.0.0.1 with a temporary state folder, and:
1. ten times, on the idle cluster, POSTs one `true` job: the answer time (write the
   batch script, sbatch) and POST → `stopped` as the processor reports it;
2. POSTs `--jobs` `true` jobs in one `/processor/jobs/new` batch: answer time per job,
   and jobs/s until all have stopped (Slurm on 2 CPUs runs about 2 jobs/s by itself).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    args = parser.parse_args()
    if "SLURM_CONF" not in os.environ and not os.path.exists("/etc/slurm/slurm.conf"):
        sys.exit("no Slurm cluster: run `bash tests/slurm_cluster.sh start && . /tmp/banyan-slurm/env`")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tempfile.mkdtemp(prefix="banyan-slurm-bench-")
    proc = subprocess.Popen([sys.executable, "-m", "banyan", "--state", state, "processor",
                             "--backend", "slurm", "--listen", f"127.0.0.1:{port}", "--name", "bench"],
                            env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.DEVNULL)

    def call(method: str, path: str, body=None) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with OPENER.open(req, timeout=60) as resp:
            return json.loads(resp.read())

    def wait(ids: list[str]) -> None:
        while not all(r["state"] == "stopped"
                      for r in call("GET", "/processor/jobs/status?ids=" + ",".join(ids))["jobs"]):
            time.sleep(0.02)

    try:
        for _ in range(100):
            try:
                call("GET", "/processor/health")
                break
            except OSError:
                time.sleep(0.1)
        answer, done = [], []
        for i in range(10):
            time.sleep(0.3)  # the controller schedules once a second: sample its phase
            t0 = time.monotonic()
            call("POST", "/processor/job/new", {"request_id": f"one{i}", "commands": [{"exec": ["true"]}]})
            t1 = time.monotonic()
            wait([f"one{i}"])
            answer.append((t1 - t0) * 1000)
            done.append((time.monotonic() - t0) * 1000)
        print(f"RESULT slurm backend  one job: POST answered  median={statistics.median(answer):.0f} ms")
        print(f"RESULT slurm backend  one job: POST -> stopped median={statistics.median(done):.0f} ms "
              f"runs=[{' '.join(f'{x:.0f}' for x in done)}]")
        ids = [f"many{i}" for i in range(args.jobs)]
        t0 = time.monotonic()
        call("POST", "/processor/jobs/new", {"jobs": [{"request_id": i, "commands": [{"exec": ["true"]}]}
                                                      for i in ids]})
        t1 = time.monotonic()
        wait(ids)
        t2 = time.monotonic()
        print(f"RESULT slurm backend  batch of {args.jobs}: answered in {(t1 - t0) * 1000:.0f} ms "
              f"({(t1 - t0) * 1000 / args.jobs:.1f} ms per job); end-to-end {args.jobs / (t2 - t0):.1f} jobs/s")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
