#!/usr/bin/env python3
"""Banyan and its peers side by side, in one run: one table of figures, ratios and targets.

    python3 bench/compare.py [--jobs 1000] [--runs 3] [--peers ts,nq] [--slurm]

Runs, one after the other (never two at once: the figures are for 2 cores), each part
as its own process, streaming its output:
  e2e    bench/e2e.py --modes up: `banyan up`, N `true` jobs, end-to-end jobs/s, submit→start
  peers  bench/peers/{ts,nq}_bench.sh (they apt-get install task-spooler and nq), N jobs;
         with --slurm also slurm_bench.sh, variant `tuned`, phases e2e and latency.
         e2e and the peers go in rounds (one run of each, --runs times): the machine's
         speed drifts over minutes, and a drift then charges Banyan and its peers alike
  cron   bench/e2e.py --modes cron: end-to-end through `banyan scheduler --once` passes
  http   bench/http_submit.py: HTTP submit rate, Banyan's API and a bare bottle app
  pass   bench/pass_cost.py: one pass placing --queued jobs with 0/10k/100k finished; RSS
  cgi    bench/cgi.py: a status GET through banyan.cgi and a CGI that imports bottle
  floor  bench/floor.py: the CPU a job of the contract's file operations alone, and of
         `true` itself, against all of `banyan up`'s (from e2e)
Then prints the table (Markdown): each figure, Banyan's median, the peer's median from
the same run, the ratio Banyan/peer, the issue's target and whether it is met, and the
1-minute load average when the part started (the machine is shared: compare ratios).
Exit status 0 when every part ran (met or not), 1 when a part failed.
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from harness import PY, free_port, load

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ("e2e", "peers", "cron", "http", "pass", "cgi", "floor")
LINE = re.compile(r"^RESULT (.{28}) (.+?) +median=(\S+)\s+(\S+)\s+runs=\[(.*)\]\s*$")
"""A RESULT line (harness.report): a metric longer than its column pushes the rest along."""

UP, CRON, TS, NQ = "banyan up", "banyan scheduler --once", "task-spooler (2 slots)", "nq"
SLURM, API, BARE = "slurm tuned", "banyan serve", "bare bottle+cheroot fsync"
CGI, BOTTLE_CGI = "banyan.cgi (busybox httpd)", "bottle.cgi (busybox httpd)"
FLOOR = "contract floor"


def rows(sizes: list[int]) -> list[tuple]:
    """(figure, Banyan's (system, metric), the peer's, target: (">=" | "<=", number) or None).
    A peer of None means the target is on Banyan's value itself."""
    e2e, lat = (UP, "end-to-end"), (TS, "start latency (med 10)")
    out = [
        ("end-to-end, `banyan up` vs task-spooler", e2e, (TS, "end-to-end"), (">=", 1.0)),
        ("end-to-end, `banyan up` vs nq", e2e, (NQ, "end-to-end"), (">=", 3.0)),
        ("end-to-end, `banyan up` vs Slurm (tuned)", e2e, (SLURM, "end-to-end"), (">=", 100.0)),
        ("end-to-end, cron `--once` passes vs task-spooler", (CRON, "end-to-end"), (TS, "end-to-end"), None),
        ("submit→start p50 vs task-spooler", (UP, "submit->start p50"), lat, ("<=", 1.5)),
        ("submit→start p95 vs task-spooler's median", (UP, "submit->start p95"), lat, None),
        ("HTTP submit, 1 client vs bare bottle", (API, "HTTP submit c=1"), (BARE, "HTTP submit c=1"), (">=", 0.8)),
        ("HTTP submit, 4 clients vs bare bottle", (API, "HTTP submit c=4"), (BARE, "HTTP submit c=4"), (">=", 0.8)),
    ]
    big = max(sizes)
    for size in sizes[1:]:
        out.append((f"pass placing the queue, {size:,} finished vs none", (CRON, f"pass, {size} finished"),
                    (CRON, "pass, 0 finished"), ("<=", 1.2) if size == big else None))
    if big:
        out.append((f"the pass's own CPU, {big:,} finished vs none", (CRON, f"pass CPU, {big} finished"),
                    (CRON, "pass CPU, 0 finished"), None))
        out.append((f"scheduler peak RSS, {big:,} finished", (CRON, f"RSS, {big} finished"), None,
                    ("<=", 60.0)))
    out.append(("CGI status GET vs `import bottle` CGI", (CGI, "status GET"), (BOTTLE_CGI, "import bottle only"),
                ("<=", 1.3)))
    cpu = (UP, "CPU a job")
    out.append(("CPU a job: the contract's files alone vs all of `banyan up`", (FLOOR, "files, CPU a job"), cpu, None))
    out.append(("CPU a job: `true` itself vs all of `banyan up`", (FLOOR, "true itself"), cpu, None))
    return out


class Run:
    def __init__(self, args):
        self.args = args
        self.runs: dict[tuple[str, str], list[float]] = {}
        self.units: dict[tuple[str, str], str] = {}
        self.loads: dict[tuple[str, str], str] = {}
        self.failed: list[str] = []
        self.work = tempfile.mkdtemp(prefix="banyan-bench-peers-")
        self.env = {}
        """With --python, its folder comes first on PATH: a CGI script's `python3` is it too."""
        if args.python != PY:
            self.env["PATH"] = os.path.dirname(args.python) + os.pathsep + os.environ.get("PATH", "")

    def part(self, name: str, cmd: list[str], env: dict | None = None) -> None:
        """Run one part, echo its output, keep its RESULT lines. Not from bench/: a `python -m`
        started there would import bench/cgi.py for the standard library's `cgi`."""
        started = os.getloadavg()[0]
        print(f"## {name}: {' '.join(cmd)}   (load {load()})", flush=True)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, **self.env, **(env or {})), cwd=self.work)
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            m = LINE.match(line.rstrip("\n"))
            if m:  # a figure met again (the alternated rounds below) adds its runs
                key = (m.group(1).strip(), m.group(2).strip())
                self.runs.setdefault(key, []).extend(float(x) for x in m.group(5).split())
                self.units[key] = m.group(4)
                self.loads.setdefault(key, f"{started:.1f}")
        if proc.wait() != 0:
            self.failed.append(name)
            print(f"## {name} FAILED (exit {proc.returncode})", flush=True)

    def e2e(self, runs: int) -> None:
        a = self.args
        self.part("e2e", [a.python, script("e2e.py"), "--modes", "up", "--jobs", str(a.jobs),
                          "--runs", str(runs), "--samples", str(a.samples)])

    def _peer_env(self, runs: int) -> dict:
        return {"N": str(self.args.jobs), "RUNS": str(runs), "WORK": self.work}

    def peers(self, runs: int) -> None:
        for peer in self.args.peers:
            self.part(f"peer {peer}", ["bash", os.path.join(HERE, "peers", f"{peer}_bench.sh")],
                      self._peer_env(runs))

    def slurm(self) -> None:
        """Ports of its own: another Slurm on this machine keeps the defaults."""
        self.part("peer slurm", ["bash", os.path.join(HERE, "peers", "slurm_bench.sh")],
                  dict(self._peer_env(self.args.runs), VARIANTS="tuned", PHASES="e2e latency",
                       N_TUNED=str(min(self.args.jobs, self.args.slurm_jobs)),
                       SLURM_CTLD_PORT=str(free_port()), SLURMD_PORT=str(free_port())))

    def all(self) -> None:
        a, parts = self.args, self.args.parts
        together = "e2e" in parts and "peers" in parts  # in rounds: a drift of the machine's
        for _ in range(a.runs if together else 1):      # speed then charges both sides alike
            if "e2e" in parts:
                self.e2e(1 if together else a.runs)
            if "peers" in parts:
                self.peers(1 if together else a.runs)
        if "peers" in parts and a.slurm:
            self.slurm()
        if "cron" in parts:
            self.part("cron", [a.python, script("e2e.py"), "--modes", "cron",
                               "--cron-jobs", str(a.cron_jobs), "--runs", str(a.runs)])
        if "http" in parts:
            self.part("http", [a.python, script("http_submit.py"), "--seconds", str(a.seconds),
                               "--runs", str(a.runs)])
        if "pass" in parts:
            self.part("pass", [a.python, script("pass_cost.py"), "--queued", str(a.queued),
                               "--finished", a.finished, "--runs", str(a.pass_runs)])
        if "cgi" in parts:
            self.part("cgi", [a.python, script("cgi.py"), "--requests", str(a.cgi_requests), "--seconds", "2"])
        if "floor" in parts:
            self.part("floor", [a.python, script("floor.py"), "--jobs", str(2 * a.jobs),
                                "--runs", str(a.runs)])

    def figure(self, key: tuple[str, str] | None) -> tuple[float, str] | None:
        """A figure's median over every run of it, and its unit; None if it did not run."""
        if key not in self.runs:
            return None
        return statistics.median(self.runs[key]), self.units[key]

    def table(self, sizes: list[int]) -> str:
        out = ["| figure | Banyan | peer or baseline, same run | ratio | target | met? | load |",
               "|---|---|---|---|---|---|---|"]
        for figure, ours, theirs, target in rows(sizes):
            mine = self.figure(ours)
            peer = self.figure(theirs) if theirs else None
            shown_peer = fmt(peer) if peer else ("–" if theirs is None else "not run")
            ratio = mine[0] / peer[0] if mine and peer and peer[0] else None
            value = ratio if theirs else (mine[0] if mine else None)
            verdict = "–"
            if target and value is not None:
                op, bound = target
                verdict = "**met**" if (value >= bound if op == ">=" else value <= bound) else "missed"
            elif target:
                verdict = "not measured"
            wanted = f"{target[0]} {target[1]:g}{'×' if theirs else ' ' + mine[1] if mine else ''}" \
                if target else "–"
            out.append(f"| {figure} | {fmt(mine) if mine else 'not run'} | {shown_peer} | "
                       f"{f'{ratio:.2f}×' if ratio is not None else '–'} | {wanted} | "
                       f"{verdict} | {self.loads.get(ours, '–')} |")
        return "\n".join(out)


def interpreter(python: str) -> str:
    """Which Python runs Banyan: its path and version (a distribution's build, compiled with
    profile-guided optimisation, spends less CPU a job than pyenv's default build)."""
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return f"Python {version} ({python})"


def script(name: str) -> str:
    return os.path.join(HERE, name)


def fmt(result: tuple[float, str]) -> str:
    value, unit = result
    return f"{value:,.1f} {unit}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[3:]))
    ap.add_argument("--jobs", type=int, default=1000, help="N jobs per e2e run, Banyan and peers")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (medians)")
    ap.add_argument("--peers", default="ts,nq", help="ts,nq; 'none' for no peer")
    ap.add_argument("--slurm", action="store_true", help="also Slurm, tuned (~2 min with --slurm-jobs 40)")
    ap.add_argument("--slurm-jobs", type=int, default=100, help="N for Slurm (it runs ~2 jobs/s)")
    ap.add_argument("--cron-jobs", type=int, default=100,
                    help="N for cron passes (a pass per 4 jobs on 2 cores with the default backlog, ~0.5 s a pass)")
    ap.add_argument("--samples", type=int, default=20, help="submit→start samples per run")
    ap.add_argument("--seconds", type=float, default=5, help="per HTTP submit figure")
    ap.add_argument("--queued", type=int, default=1000, help="jobs the timed pass places")
    ap.add_argument("--finished", default="0,10000,100000", help="finished jobs before a timed pass")
    ap.add_argument("--pass-runs", type=int, default=1, help="timed passes per size (each 20-40 s)")
    ap.add_argument("--cgi-requests", type=int, default=50, help="GETs of each CGI script")
    ap.add_argument("--python", default=PY,
                    help="the interpreter that runs Banyan and the Python baselines (default: this one)")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"some of {','.join(PARTS)}")
    args = ap.parse_args()
    args.parts = args.parts.split(",")
    args.peers = [p for p in args.peers.split(",") if p and p != "none"]
    unknown = [p for p in args.parts if p not in PARTS] + [p for p in args.peers if p not in ("ts", "nq")]
    if unknown:
        ap.error(f"unknown part or peer {unknown[0]!r}")
    sizes = sorted({0} | {int(x) for x in args.finished.split(",")})
    started, load0 = time.time(), load()
    print(f"# bench/compare.py {' '.join(sys.argv[1:])}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cpus, {platform.platform()}, {interpreter(args.python)}, load {load0}",
          flush=True)
    run = Run(args)
    try:
        run.all()
    finally:
        shutil.rmtree(run.work, ignore_errors=True)
    print(f"\n# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {os.cpu_count()} cpus, "
          f"N={args.jobs}, runs={args.runs} (pass: {args.pass_runs}), load {load0} at start, {load()} at the end, "
          f"{(time.time() - started) / 60:.1f} min")
    print(run.table(sizes))
    if run.failed:
        print(f"\nparts that failed: {', '.join(run.failed)}")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
