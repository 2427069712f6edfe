"""What every Banyan bench script shares: starting real servers, keep-alive clients,
reading the state folder by its SPEC paths, and RESULT lines in the peers' format.

RESULT lines look like ../shared/bench/common.sh's `report` (system padded to 28,
metric to 22, `median=`, unit, every run in brackets), so bench/compare.py parses
Banyan's lines and the peers' lines alike.
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable  # not a pyenv shim: a shim is a shell script that costs ~100 ms a start
ENV = dict(os.environ, PYTHONPATH=ROOT)
TRUE_JOB = json.dumps({"commands": [{"exec": ["true"]}]}).encode()


def report(system: str, metric: str, unit: str, runs: list[float]) -> None:
    shown = " ".join(f"{r:.1f}" for r in runs)
    print(f"RESULT {system:<28} {metric:<22} median={statistics.median(runs):<9.1f} {unit:<8} "
          f"runs=[{shown}]", flush=True)


def note(text: str) -> None:
    """A `#` line: context for the reader, ignored by compare.py."""
    print(f"# {text}", flush=True)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def banyan(state: str, *args: str) -> list[str]:
    """A `banyan` command line; run it with ENV, so it is this tree's banyan and not
    whatever an editable install elsewhere points at."""
    return [PY, "-m", "banyan", "--state", state, *args]


def once(state: str) -> None:
    """One real `banyan scheduler --once` pass, as cron runs it."""
    subprocess.run(banyan(state, "scheduler", "--once"), env=ENV, check=True, stdout=subprocess.DEVNULL)


class Service:
    """A server process we started (in its own session, so its children go with it),
    stopped by its pid; its output goes to LOG for a post-mortem."""

    def __init__(self, cmd: list[str], log: str):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(cmd, env=ENV, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait(self, ready, timeout: float = 30) -> "Service":
        """Poll `ready()` (an OSError counts as not yet) until true; fail if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if ready():
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.proc.args} not ready within {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def answers(port: int, path: str = "/") -> bool:
    return request(port, "GET", path)[0] < 500


def nodes(port: int) -> list[dict]:
    status, body = request(port, "GET", "/scheduler/nodes")
    return json.loads(body)["nodes"] if status == 200 else []


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def post_many(port: int, n: int, clients: int, body: bytes = TRUE_JOB,
              path: str = "/scheduler/jobs/new") -> list[tuple[str, float]]:
    """POST `body` n times from `clients` threads, each on one keep-alive connection (a
    client that starts once, as a script would); (request_id, time sent) of each, all 201."""
    out: list[tuple[str, float]] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        try:
            for _ in range(k):
                t = time.time()
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 201:
                    raise RuntimeError(f"POST {path} answered {resp.status}: {data[:200]!r}")
                mine.append((json.loads(data)["request_id"], t))
        except Exception as err:  # reported by the caller, not lost in a thread
            errors.append(str(err))
        finally:
            conn.close()
        with lock:
            out.extend(mine)

    counts = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(k,)) for k in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return out


def rate(port: int, seconds: float, clients: int, method: str = "POST",
         path: str = "/scheduler/jobs/new", body: bytes | None = TRUE_JOB, want: int = 201) -> float:
    """Requests/s of `clients` keep-alive clients sending `method path` for `seconds`;
    every answer must be `want`."""
    counts = [0] * clients
    errors: list[str] = []
    stop = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"} if body else {}

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < stop:
                conn.request(method, path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != want:
                    raise RuntimeError(f"{method} {path} answered {resp.status}: {data[:200]!r}")
                counts[i] += 1
        except Exception as err:
            errors.append(str(err))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return sum(counts) / (time.monotonic() - t0)


class State:
    """A scratch state folder, read by the paths SPEC §2 fixes (never through banyan's code,
    which the bench measures)."""

    def __init__(self, prefix: str = "banyan-bench-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.root = os.path.join(self.dir, "state")

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def log(self, name: str) -> str:
        """Where a server's output goes: beside the state folder."""
        return os.path.join(self.dir, name)

    def count(self, *parts: str) -> int:
        try:
            return len(os.listdir(self.path(*parts)))
        except FileNotFoundError:
            return 0

    def pending(self) -> int:
        """Jobs not yet stopped: in incoming/, queue/ or running/."""
        return (self.count("incoming") + self.count("scheduler", "queue")
                + self.count("scheduler", "running"))

    def cat(self, *parts: str) -> str | None:
        try:
            with open(self.path(*parts)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def check_good(self, ids: list[str]) -> None:
        """Every job stopped with status good, or the figure is not worth printing."""
        bad = [i for i in ids if self.cat("scheduler", "jobs", i, "status") != "good"]
        if bad:
            raise RuntimeError(f"{len(bad)} of {len(ids)} jobs did not stop good, e.g. {bad[0]}: "
                               f"state {self.cat('scheduler', 'jobs', bad[0], 'state')}")

    def wait_idle(self, timeout: float, between=None) -> float:
        """Poll (every 10 ms, or after each `between()` call) until no job is pending;
        the time it happened. Each poll lists three folders: polling more often would take
        CPU from the system measured, for a few ms of precision on a run of seconds."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.pending()} jobs still pending after {timeout} s")
            if between:
                between()
            else:
                time.sleep(0.01)
        return time.monotonic()

    def remove(self) -> None:
        """Removed when the bench exits, not now: on a disk mounted with `discard` (this
        machine's), deleting a run's tens of thousands of files makes file creation 5–20×
        slower for minutes after, which would charge the next run for this one's cleanup."""
        _LEFTOVERS.append(self.dir)


_LEFTOVERS: list[str] = []
atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _LEFTOVERS])
