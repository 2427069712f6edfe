#!/usr/bin/env python3
"""End-to-end jobs/s and submit→start latency, through `banyan up` and through cron passes.

    python3 bench/e2e.py [--jobs 1000] [--cron-jobs 100] [--runs 3] [--modes up,cron]

up:   a real `banyan up` (API, scheduler daemon, local processor) in a fresh state folder
      per run. One keep-alive HTTP client submits N `true` jobs while they run; the bench
      polls the state folder until incoming/, queue/ and running/ are empty, and checks
      every job stopped `good`. end-to-end = N / (first submit → last job stopped); submit
      = N / submit time; the CPU per job of each part of `banyan up` (cpushare.py) and of
      the bench's own client over the same span, and of `banyan up` and its jobs in all.
      Then, on the idle system, 20 jobs one at a time, each `date +%s.%N` (the job
      records its own start in its log): submit → start p50, p95.
cron: `banyan serve` + `banyan processor --scheduler` (registered, heartbeating), no
      scheduler daemon: the bench runs `banyan scheduler --once` processes back to back
      while a client submits N `true` jobs (--cron-jobs: each pass places at most what the
      node has room for, its cores times 1 + backlog: 4 jobs here).
Prints RESULT lines (median of the runs, every run in brackets).
"""

import argparse
import json
import statistics
import threading
import time

import psutil

import cpushare

from harness import (Service, State, banyan, free_port, load, note, nodes, once, percentile,
                     post_many, report)

DATE_JOB = json.dumps({"commands": [{"exec": ["date", "+%s.%N"]}]}).encode()


def up(state: State) -> tuple[Service, int]:
    port = free_port()
    svc = Service(banyan(state.root, "up", "--listen", f"127.0.0.1:{port}"), state.log("up.log"))
    return svc.wait(lambda: nodes(port)), port


def daemon_run(n: int, samples: int) -> tuple[float, float, list[float], dict[str, float]]:
    """(submit rate, end-to-end rate, latencies in ms, CPU ms per job of each part) of one
    fresh `banyan up`."""
    state = State()
    svc, port = up(state)
    bench = psutil.Process()
    try:
        before, bench_before = cpushare.by_part(svc.proc.pid), sum(bench.cpu_times()[:2])
        t0 = time.monotonic()
        ids = [i for i, _ in post_many(port, n, 1)]
        t1 = time.monotonic()
        t2 = state.wait_idle(timeout=max(120, n))
        cpu = cpushare.per_job(before, cpushare.by_part(svc.proc.pid), n)
        cpu["bench"] = (sum(bench.cpu_times()[:2]) - bench_before) * 1000 / n
        state.check_good(ids)
        lat = []
        for _ in range(samples):
            (job_id, sent), = post_many(port, 1, 1, DATE_JOB)
            state.wait_idle(timeout=30)
            lat.append((float(state.cat("processor", "job", job_id, "log")) - sent) * 1000)
        return n / (t1 - t0), n / (t2 - t0), lat, cpu
    finally:
        svc.stop()
        state.remove()


def cron_run(n: int) -> tuple[float, int]:
    """(end-to-end rate, passes) with `scheduler --once` passes run back to back."""
    state = State()
    port, pport = free_port(), free_port()
    api = Service(banyan(state.root, "serve", "--listen", f"127.0.0.1:{port}"), state.log("api.log"))
    proc = Service(banyan(state.root, "processor", "--listen", f"127.0.0.1:{pport}", "--name", "local",
                          "--scheduler", f"http://127.0.0.1:{port}"), state.log("processor.log"))
    passes = 0

    def one_pass() -> None:
        nonlocal passes
        once(state.root)
        passes += 1

    try:
        api.wait(lambda: nodes(port))
        ids: list[str] = []
        submitter = threading.Thread(target=lambda: ids.extend(i for i, _ in post_many(port, n, 1)))
        t0 = time.monotonic()
        submitter.start()
        while submitter.is_alive() or len(ids) < n:
            one_pass()
            if not submitter.is_alive() and len(ids) < n:
                raise RuntimeError("the submitting client failed")
        t1 = state.wait_idle(timeout=max(300, 3 * n), between=one_pass)
        state.check_good(ids)
        return n / (t1 - t0), passes
    finally:
        proc.stop()
        api.stop()
        state.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--cron-jobs", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=20, help="latency samples per run")
    ap.add_argument("--modes", default="up,cron")
    args = ap.parse_args()
    modes = args.modes.split(",")
    if "up" in modes:
        note(f"banyan up: N={args.jobs}, runs={args.runs}, load {load()}")
        subs, e2es, p50s, p95s, cpus = [], [], [], [], []
        for _ in range(args.runs):
            sub, e2e, lat, cpu = daemon_run(args.jobs, args.samples)
            note("CPU per job, ms: " + ", ".join(f"{part} {ms:.2f}" for part, ms in cpu.items())
                 + f"; all {sum(cpu.values()):.2f}")
            cpus.append(sum(ms for part, ms in cpu.items() if part != "bench") * 1000)
            subs.append(sub)
            e2es.append(e2e)
            p50s.append(statistics.median(lat))
            p95s.append(percentile(lat, 0.95))
        report("banyan up", "submit (jobs run too)", "jobs/s", subs)
        report("banyan up", "end-to-end", "jobs/s", e2es)
        report("banyan up", "submit->start p50", "ms", p50s)
        report("banyan up", "submit->start p95", "ms", p95s)
        report("banyan up", "CPU a job", "us", cpus)
    if "cron" in modes:
        note(f"banyan cron passes: N={args.cron_jobs}, runs={args.runs}, load {load()}")
        rates, passes = [], []
        for _ in range(args.runs):
            rate, count = cron_run(args.cron_jobs)
            rates.append(rate)
            passes.append(count)
        report("banyan scheduler --once", "end-to-end", "jobs/s", rates)
        report("banyan scheduler --once", "passes", "passes", passes)


if __name__ == "__main__":
    main()
