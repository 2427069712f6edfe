#!/usr/bin/env python3
"""End-to-end figures for `banyan up`: submit rate, jobs/s, submit→start latency.

    python3 bench/e2e.py [--jobs 1000] [--clients 1] [--runs 3]

Starts a real `banyan up` on 127.0.0.1 in a temporary folder for each run, and:
1. submits N `true` jobs over HTTP from `--clients` threads, each with one keep-alive
   connection (a client that starts once, like a script would; curl's own start-up,
   8 ms here, would otherwise be the figure), and waits until every job has stopped:
   submit rate = N / submit time, end-to-end = N / (first submit → last job stopped);
2. on the idle system, submits 20 jobs one at a time, each `date +%s.%N` (the job
   records its own start), and prints the p50/p95 of submit → first instruction.
Prints one `RESULT` line per figure (median of the runs, every run in brackets).
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
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class System:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="banyan-bench-")
        self.state = os.path.join(self.dir, "state")
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.log = open(os.path.join(self.dir, "up.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "banyan", "--state", self.state, "up", "--listen",
             f"127.0.0.1:{self.port}"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("/scheduler/nodes")["nodes"]:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("banyan up did not answer within 30 s")
            time.sleep(0.05)

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path: str) -> dict:
        c = self.conn()
        try:
            c.request("GET", path)
            return json.loads(c.getresponse().read())
        finally:
            c.close()

    def pending(self) -> int:
        s = os.path.join(self.state, "scheduler")
        return sum(len(os.listdir(p)) for p in (os.path.join(self.state, "incoming"),
                                                 os.path.join(s, "queue"), os.path.join(s, "running")))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def submit_many(system: System, n: int, clients: int, body: bytes) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    lock = threading.Lock()
    counts = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]

    def worker(k: int):
        c = system.conn()
        mine = []
        for _ in range(k):
            t = time.time()
            c.request("POST", "/scheduler/jobs/new", body, {"Content-Type": "application/json"})
            resp = c.getresponse()
            data = resp.read()
            if resp.status != 201:
                raise SystemExit(f"submit answered {resp.status}: {data!r}")
            mine.append((json.loads(data)["request_id"], t))
        c.close()
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def throughput(n: int, clients: int) -> tuple[float, float]:
    system = System()
    try:
        body = json.dumps({"commands": [{"exec": ["true"]}]}).encode()
        t0 = time.monotonic()
        submit_many(system, n, clients, body)
        t1 = time.monotonic()
        while system.pending():
            time.sleep(0.005)
        t2 = time.monotonic()
        return n / (t1 - t0), n / (t2 - t0)
    finally:
        system.stop()


def latency(samples: int = 20) -> list[float]:
    system = System()
    try:
        body = json.dumps({"commands": [{"exec": ["date", "+%s.%N"]}]}).encode()
        out = []
        for _ in range(samples):
            (job_id, t), = submit_many(system, 1, 1, body)
            log = os.path.join(system.state, "processor", "job", job_id, "log")
            while system.pending():
                time.sleep(0.002)
            with open(log) as f:
                out.append((float(f.read().strip()) - t) * 1000)
        return out
    finally:
        system.stop()


def result(what: str, runs: list[float], unit: str) -> None:
    shown = " ".join(f"{r:.1f}" for r in runs)
    print(f"RESULT banyan up  {what:<28} median={statistics.median(runs):<9.1f} {unit:<6} runs=[{shown}]",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    subs, e2es, p50s, p95s = [], [], [], []
    for _ in range(args.runs):
        sub, e2e = throughput(args.jobs, args.clients)
        subs.append(sub)
        e2es.append(e2e)
        lat = sorted(latency())
        p50s.append(statistics.median(lat))
        p95s.append(lat[int(0.95 * (len(lat) - 1))])
    result(f"submit (c={args.clients})", subs, "jobs/s")
    result("end-to-end", e2es, "jobs/s")
    result("submit→start p50", p50s, "ms")
    result("submit→start p95", p95s, "ms")


if __name__ == "__main__":
    main()
