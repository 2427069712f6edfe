#!/usr/bin/env python3
"""The cost of one scheduler pass that places 1,000 queued jobs, with 0, 10,000 and
100,000 finished jobs in the state folder, and the scheduler's peak RSS.

    python3 bench/pass_cost.py [--queued 1000] [--finished 0,10000,100000] [--runs 3]

Set-up: two state folders, each with its own `banyan serve` (API, where reports of job
ends arrive) and `banyan processor` (no registration, no heartbeat), no scheduler
daemon: one stays without finished jobs (`banyan gc --older-than 0` after each of its
rounds), the other grows to each size in turn. Each first runs one untimed round (its
first real jobs); then the timed rounds alternate between the two (none, 10k, none,
10k, ..., then none, 100k, ...), so that a machine whose speed drifts over minutes (this
one's does: a plain CPU loop took 0.064 s, then 0.111 s two minutes later) charges both
sides of a ratio alike; the figure with none is the median of all its rounds. One
folder holds every size because tmpfs counts each hard link as an inode (/dev/shm
here has 3.1 million). A round:
1. queue: drop `--queued` `true` requests into incoming/ (written elsewhere, then
   renamed, as SPEC §2 allows), run `banyan scheduler --once` while no node is
   registered: intake only, every job `queued`;
2. register the processor as node `local` with one core per queued job (else a pass
   places only as many jobs as the node has cores);
3. the timed pass: a real `banyan scheduler --once` process, its clock started after
   its imports (a cron pass also pays ~0.1-0.3 s of interpreter and imports, a constant
   left out so the ratio shows what the pass itself does); its peak RSS (VmHWM);
   then a check that every job is in running/;
4. `--once` passes until every job has stopped, then unregister the node.
Finished jobs are made by a generator, not run (100,000 real jobs take minutes): one
real finished job of the untimed round is the template, and each new job
is a copy of its scheduler record and its processor folder under a new id (folders
made, files hard-linked: ~10 µs a file), plus its lines in scheduler/events. Ids sort
before the real ones, as older jobs' would. Each round adds its own finished jobs, so
the rounds of size k > 0 have k + r x queued, r = 1, 2, ... (printed in `#` lines).
Prints RESULT lines: pass ms, peak RSS MB and the pass's CPU ms per size. Over half of a
pass's time is its wait for the node's answer to the placements (the node makes 1,000
job folders meanwhile, while it runs jobs), which moves it by ±20 % from run to run;
its CPU time is the scheduler's own work.
"""

import argparse
import json
import os
import shutil
import subprocess
import time

from harness import ENV, PY, Service, State, answers, banyan, free_port, load, note, once, report, request

TIMED = """import resource, runpy, sys, time
import banyan.cli.main, banyan.scheduler.daemon, banyan.scheduler.passes  # imports: off the clock
sys.argv = ["banyan"] + sys.argv[1:]
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t0, c0 = time.perf_counter(), cpu()
try:
    runpy.run_module("banyan", run_name="__main__")
finally:
    print(f"PASS_SECONDS {time.perf_counter() - t0:.6f} PASS_CPU {cpu() - c0:.6f}", flush=True)
    with open("/proc/self/status") as f:
        print(next(line for line in f if line.startswith("VmHWM:")), flush=True)
"""
# Peak RSS is the child's own VmHWM, not wait4()'s ru_maxrss: Linux carries the parent's
# high-water mark across fork+exec into ru_maxrss, so the bench's own size would show.
LINKS_PER_FILE = 50_000
"""ext4 allows 65,000 links to one file: the template is copied afresh every this many jobs."""


class Finished:
    """Makes finished jobs by copying one real finished job (see the module docstring)."""

    def __init__(self, state: State):
        self.state = state
        self.made = 0
        self.template: str | None = None
        self.source: tuple[str, str] | None = None
        self.base_us = (time.time_ns() // 1000) - 30 * 86400 * 10**6  # a month ago

    def count(self) -> int:
        return self.state.count("scheduler", "jobs")

    def grow_to(self, total: int) -> float:
        """Add jobs until `total` finished jobs exist; seconds it took."""
        t0 = time.monotonic()
        missing = total - self.count()
        if missing <= 0:
            return 0.0
        template_lines = self._template_events()
        with open(self.state.path("scheduler", "events"), "a") as events:
            for _ in range(missing):
                if self.made % LINKS_PER_FILE == 0:
                    self._fresh_source()
                job_id = f"{self.base_us + self.made * 1000:013x}0000"
                sched, proc = self.source
                clone_tree(sched, self.state.path("scheduler", "jobs", job_id))
                clone_tree(proc, self.state.path("processor", "job", job_id))
                events.writelines(line.replace(f" {self.template} ", f" {job_id} ", 1) for line in template_lines)
                self.made += 1
        return time.monotonic() - t0

    def _template_events(self) -> list[str]:
        if self.template is None:
            jobs = sorted(os.listdir(self.state.path("scheduler", "jobs")))
            good = [j for j in jobs if self.state.cat("scheduler", "jobs", j, "status") == "good"]
            if not good:
                raise RuntimeError("no finished job to copy: run a size of 0 first")
            self.template = good[-1]
        with open(self.state.path("scheduler", "events")) as f:
            return [line for line in f if f" {self.template} " in line]

    def _fresh_source(self) -> None:
        """Real copies of the template's files, in a folder of the bench's own (not the spool)."""
        n = self.made // LINKS_PER_FILE
        root = os.path.join(self.state.dir, f"template-{n}")
        sched, proc = os.path.join(root, "scheduler"), os.path.join(root, "processor")
        shutil.copytree(self.state.path("scheduler", "jobs", self.template), sched, symlinks=True)
        shutil.copytree(self.state.path("processor", "job", self.template), proc, symlinks=True)
        self.source = (sched, proc)


def clone_tree(src: str, dst: str) -> None:
    os.mkdir(dst)
    for entry in os.scandir(src):
        target = os.path.join(dst, entry.name)
        if entry.is_dir(follow_symlinks=False):
            clone_tree(entry.path, target)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        else:
            os.link(entry.path, target)


class Bench:
    def __init__(self, queued: int):
        self.queued = queued
        self.state = State()
        self.port, self.pport = free_port(), free_port()
        s = self.state
        self.api = Service(banyan(s.root, "serve", "--listen", f"127.0.0.1:{self.port}"), s.log("api.log"))
        self.proc = Service(banyan(s.root, "processor", "--listen", f"127.0.0.1:{self.pport}", "--name",
                                   "local", "--url", f"http://127.0.0.1:{self.port}"), s.log("processor.log"))
        self.api.wait(lambda: answers(self.port, "/scheduler/jobs?limit=1"))
        self.proc.wait(lambda: answers(self.pport, "/processor/health"))
        self.finished = Finished(s)

    def once(self) -> None:
        once(self.state.root)

    def queue(self) -> None:
        body = json.dumps({"commands": [{"exec": ["true"]}]})
        tmp, incoming = self.state.path("tmp"), self.state.path("incoming")
        stamp = time.time_ns() // 1000
        for i in range(self.queued):
            name = f"{stamp:013x}{i:04x}.job"
            with open(os.path.join(tmp, name), "w") as f:
                f.write(body)
            os.rename(os.path.join(tmp, name), os.path.join(incoming, name))
        self.once()
        if self.state.count("scheduler", "queue") != self.queued:
            raise RuntimeError(f"{self.state.count('scheduler', 'queue')} queued, not {self.queued}")

    def collect(self) -> None:
        """Remove every finished job, as `banyan gc` from cron does past its retention."""
        subprocess.run(banyan(self.state.root, "gc", "--older-than", "0"), env=ENV, check=True,
                       stdout=subprocess.DEVNULL)

    def node(self, method: str) -> None:
        if method == "POST":
            body = json.dumps({"name": "local", "uri": f"http://127.0.0.1:{self.pport}",
                               "cores": self.queued}).encode()
            status, text = request(self.port, "POST", "/scheduler/nodes", body)
        else:
            status, text = request(self.port, "DELETE", "/scheduler/nodes/local")
        if status >= 300:
            raise RuntimeError(f"{method} node: {status} {text[:200]!r}")

    def timed_pass(self) -> tuple[float, float, float, float]:
        """(pass seconds, process seconds, peak RSS bytes, pass CPU seconds) of one real
        `scheduler --once`. The pass's wall time includes its wait for the node's answer
        to the placements (over half of it here), its CPU time only its own work."""
        t0 = time.monotonic()
        proc = subprocess.run([PY, "-c", TIMED, "--state", self.state.root, "scheduler", "--once"],
                              env=ENV, stdout=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"scheduler --once exited with {proc.returncode}: {proc.stdout}")
        seconds = float(proc.stdout.split("PASS_SECONDS ")[1].split()[0])
        cpu = float(proc.stdout.split("PASS_CPU ")[1].split()[0])
        return seconds, wall, int(proc.stdout.split("VmHWM:")[1].split()[0]) * 1024, cpu

    def one_run(self, timed: bool = True) -> tuple[float, float, float]:
        t0 = time.monotonic()
        self.queue()
        t1 = time.monotonic()
        self.node("POST")
        seconds, wall, rss, cpu = self.timed_pass()
        placed = self.state.count("scheduler", "running")
        if placed != self.queued:
            raise RuntimeError(f"the pass placed {placed} of {self.queued} jobs")
        t2 = time.monotonic()
        self.state.wait_idle(timeout=max(300, self.queued), between=self.once)
        self.node("DELETE")
        kind = "" if timed else "untimed round, "
        note(f"  {kind}finished {self.finished.count() - self.queued}: pass {seconds * 1000:.0f} ms "
             f"(its CPU {cpu * 1000:.0f} ms, process {wall * 1000:.0f} ms), peak RSS "
             f"{rss / 2**20:.1f} MB; queue+intake {t1 - t0:.1f} s, jobs to the end "
             f"{time.monotonic() - t2:.1f} s; load {load()}")
        return seconds * 1000, rss / 2**20, cpu * 1000

    def stop(self) -> None:
        self.proc.stop()
        self.api.stop()
        self.state.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queued", type=int, default=1000)
    ap.add_argument("--finished", default="0,10000,100000", help="sizes, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sizes = sorted({0} | {int(x) for x in args.finished.split(",")})
    note(f"scheduler pass: {args.queued} queued, finished {sizes}, runs={args.runs}, load {load()}")
    zero = Bench(args.queued)
    benches = [zero]
    runs: dict[int, list] = {size: [] for size in sizes}
    try:
        grown = Bench(args.queued) if len(sizes) > 1 else None
        if grown:
            benches.append(grown)
        for bench in benches:
            bench.one_run(timed=False)  # the template of the finished jobs, and a warm start
        zero.collect()
        for size in sizes[1:] or [0]:
            if size:
                took = grown.finished.grow_to(size + args.queued)
                note(f"made finished jobs up to {size} in {took:.1f} s")
            for _ in range(args.runs):
                runs[0].append(zero.one_run())
                zero.collect()
                if size:
                    runs[size].append(grown.one_run())
        for size in sizes:
            report("banyan scheduler --once", f"pass, {size} finished", "ms", [r[0] for r in runs[size]])
            report("banyan scheduler --once", f"RSS, {size} finished", "MB", [r[1] for r in runs[size]])
            report("banyan scheduler --once", f"pass CPU, {size} finished", "ms", [r[2] for r in runs[size]])
    finally:
        for bench in benches:
            bench.stop()


if __name__ == "__main__":
    main()
