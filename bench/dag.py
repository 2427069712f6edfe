#!/usr/bin/env python3
"""DAG figures: a WIDTH × DEPTH graph of `true` jobs submitted in ONE request, run to the end.

    python3 bench/dag.py [--width 100] [--depth 100] [--sizes 10x10,30x30,100x100]

Job (d, w) depends on (d-1, w) and (d-1, w+1 mod WIDTH), so every level waits on the
one above; the graph's own group stops when the last level has.

1. end to end: a real `banyan up` (its local node has this machine's cores); prints the
   time to answer the one POST, to take the graph in, and to run it to the end.
2. the cost of one scheduler pass against the graph's size: for each size, a fresh state
   folder, a real `banyan processor` (registered with 64 cores, so placement is not the
   limit) and the real scheduler pass run in this process, pass after pass, until the
   graph is done. A pass must cost in proportion to the jobs it changed (taken in,
   placed, finished), not to the jobs on disk: so `ms per changed job` and the idle pass
   (nothing to do, with the whole finished graph still in jobs/; no node poll due) must
   stay flat as the graph grows.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from banyan.api.submit import submit_many  # noqa: E402
from banyan.scheduler.passes import Scheduler  # noqa: E402
from banyan.spool import Spool  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graph(width: int, depth: int) -> dict:
    jobs = {}
    for d in range(depth):
        for w in range(width):
            job = {"commands": [{"exec": ["true"]}]}
            if d:
                job["depends_on"] = sorted({f"{d - 1}_{w}", f"{d - 1}_{(w + 1) % width}"})
            jobs[f"{d}_{w}"] = job
    return {"name": f"bench-{width}x{depth}", "jobs": jobs}


def wait_http(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing answered on port {port}")


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        c.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def end_to_end(width: int, depth: int) -> None:
    folder = tempfile.mkdtemp(prefix="banyan-dag-")
    port = free_port()
    log = open(os.path.join(folder, "up.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "banyan", "--state", os.path.join(folder, "state"),
                             "up", "--listen", f"127.0.0.1:{port}"], env=dict(os.environ, PYTHONPATH=ROOT),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(port, "/scheduler/nodes")
        body = json.dumps(graph(width, depth), separators=(",", ":")).encode()
        t0 = time.monotonic()
        code, answer = request(port, "POST", "/scheduler/jobs/new", body)
        answered = time.monotonic() - t0
        assert code == 201, answer
        gid = answer["request_id"]
        jobs_dir = os.path.join(folder, "state", "scheduler", "jobs")
        taken = None
        while True:
            _, st = request(port, "GET", f"/scheduler/jobs/{gid}/status")
            if taken is None and st["state"] != "incoming":
                taken = time.monotonic() - t0
            if st["state"] == "stopped":
                break
            time.sleep(0.5)
        total = time.monotonic() - t0
        n = width * depth
        good = sum(1 for j in answer["jobs"].values()
                   if open(os.path.join(jobs_dir, j, "status")).read().strip() == "good")
        print(f"RESULT end-to-end {width}x{depth}: {n} jobs, body {len(body) / 1024:.0f} KiB, "
              f"201 after {answered:.2f} s, graph taken in after {taken:.1f} s, "
              f"all done after {total:.1f} s ({n / total:.0f} jobs/s), {good} good, group {st['status']}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def pass_costs(width: int, depth: int) -> None:
    folder = tempfile.mkdtemp(prefix="banyan-dag-pass-")
    spool = Spool(os.path.join(folder, "state"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "banyan", "--state", spool.root, "--url", "http://127.0.0.1:9",
                             "processor", "--listen", f"127.0.0.1:{port}", "--name", "local"],
                            env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(port, "/processor/health")
        spool.nodes.register({"name": "local", "uri": f"http://127.0.0.1:{port}", "cores": 64,
                              "memory": 0, "gpus": 0, "labels": []})
        gid = submit_many(spool, graph(width, depth))[0]
        scheduler = Scheduler(spool, tick=0.0)
        intake = scheduler.run_pass()
        passes = []
        while spool.jobs.get(gid, "state") != "stopped":
            report = scheduler.run_pass()
            passes.append((report.seconds, len(report.taken) + len(report.placed) + len(report.finished)))
            if not report.placed and not report.finished:
                time.sleep(0.005)
        quiet = Scheduler(spool, tick=3600.0)  # asks the node once, then never: the pass alone
        quiet.run_pass()
        idle = [quiet.run_pass().seconds for _ in range(20)]
        busy = [(s, c) for s, c in passes if c]
        per_job = sum(s for s, _ in busy) / max(1, sum(c for _, c in busy))
        n = width * depth
        print(f"RESULT pass cost {width}x{depth} ({n} jobs): intake pass {intake.seconds:.2f} s "
              f"({intake.seconds / len(intake.taken) * 1000:.2f} ms per job taken), "
              f"{len(busy)} busy passes at {per_job * 1000:.2f} ms per changed job "
              f"(median pass {statistics.median(s for s, _ in busy) * 1000:.1f} ms, "
              f"{statistics.median(c for _, c in busy):.0f} changes), "
              f"idle pass {statistics.median(idle) * 1000:.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=100)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--sizes", default="10x10,30x30,100x100", help="graphs for the pass cost")
    ap.add_argument("--skip-end-to-end", action="store_true")
    args = ap.parse_args()
    for size in args.sizes.split(","):
        w, d = (int(x) for x in size.split("x"))
        pass_costs(w, d)
    if not args.skip_end_to_end:
        end_to_end(args.width, args.depth)


if __name__ == "__main__":
    main()
