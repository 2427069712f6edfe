"""Crash safety, proven by killing real processes: named crash points in the scheduler
and the processor, and random `kill -9` under load. Every job must end `stopped` and
every job's command must have run exactly once (each job appends its id to a file)."""

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, curl, free_port, need, split_code, wait_until

TRIALS = int(os.environ.get("BANYAN_CRASH_TRIALS", "50"))


def banyan(state: str, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    full = dict(os.environ, PYTHONPATH=ROOT)
    full.pop("BANYAN_CRASH_AT", None)
    full.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "banyan", "--state", state, *args], env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def submit(url: str, runs: str, **fields) -> str:
    body = {"commands": [{"shell": f'echo "$BANYAN_JOB_ID" >> {runs}'}], **fields}
    out, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json",
                                "-d", json.dumps(body), f"{url}/scheduler/jobs/new"))
    assert code == 201, out
    return json.loads(out)["request_id"]


def read(state: str, *parts: str) -> str | None:
    try:
        with open(os.path.join(state, *parts)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def ran_once_each(runs: str, ids: list[str]) -> None:
    counts = collections.Counter(open(runs).read().split()) if os.path.exists(runs) else {}
    assert {i: counts.get(i, 0) for i in ids} == {i: 1 for i in ids}
    assert set(counts) <= set(ids)


class Cron:
    """The API and one processor as servers; the scheduler only as `--once` passes."""

    def __init__(self, tmp_path):
        need("curl")
        self.state = str(tmp_path / "state")
        self.runs = str(tmp_path / "runs")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.pport = free_port()
        self.api = banyan(self.state, "serve", "--listen", self.url.split("//")[1])
        wait_until(lambda: split_code(curl(f"{self.url}/scheduler/nodes"))[1] == 200, timeout=20,
                   what="API")
        self.processor = None
        self.start_processor()
        wait_until(lambda: read(self.state, "scheduler", "nodes", "n1", "uri"), what="registration")

    def start_processor(self, crash_at: str | None = None):
        env = {"BANYAN_CRASH_AT": crash_at} if crash_at else None
        self.processor = banyan(self.state, "processor", "--listen", f"127.0.0.1:{self.pport}",
                                "--name", "n1", "--scheduler", self.url, env=env)
        if not crash_at:
            wait_until(lambda: split_code(curl(f"http://127.0.0.1:{self.pport}/processor/health"))[1] == 200,
                       what="processor")

    def one_pass(self, crash_at: str | None = None) -> int:
        env = {"BANYAN_CRASH_AT": crash_at} if crash_at else None
        return banyan(self.state, "scheduler", "--once", env=env).wait(timeout=60)

    def passes_until(self, predicate, what: str, timeout: float = 30):
        def step():
            self.one_pass()
            return predicate()
        return wait_until(step, timeout=timeout, interval=0.05, what=what)

    def stopped(self, job_id: str) -> bool:
        return read(self.state, "scheduler", "jobs", job_id, "state") == "stopped"

    def close(self):
        for proc in (self.api, self.processor):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def cron(tmp_path):
    system = Cron(tmp_path)
    yield system
    system.close()


SCHEDULER_POINTS = ["intake.created", "intake.admitted", "place.committed", "place.sent",
                    "stop.recorded", "stop.committed"]


@pytest.mark.parametrize("point", SCHEDULER_POINTS)
def test_scheduler_crash_at_each_step_loses_and_doubles_nothing(cron, point):
    first = submit(cron.url, cron.runs)
    after = submit(cron.url, cron.runs, depends_on=[first])
    deadline = time.monotonic() + 30
    while cron.one_pass(crash_at=point) != 99:  # passes run normally until one reaches the point
        assert time.monotonic() < deadline, f"no pass reached {point}"
    cron.passes_until(lambda: cron.stopped(first) and cron.stopped(after), what="both jobs to stop")
    for job_id in (first, after):
        assert read(cron.state, "scheduler", "jobs", job_id, "status") == "good"
    ran_once_each(cron.runs, [first, after])
    assert os.listdir(os.path.join(cron.state, "scheduler", "running")) == []
    assert os.listdir(os.path.join(cron.state, "scheduler", "queue")) == []


@pytest.mark.parametrize("point", ["processor.created", "processor.batch-accepted"])
def test_processor_crash_at_each_step_loses_and_doubles_nothing(cron, point):
    os.killpg(cron.processor.pid, signal.SIGKILL)
    cron.processor.wait()
    cron.start_processor(crash_at=point)
    ids = [submit(cron.url, cron.runs) for _ in range(3)]
    wait_until(lambda: cron.one_pass() == 0 and cron.processor.poll() is not None, timeout=30,
               what=f"the processor to crash at {point}")
    assert cron.processor.returncode == 99
    cron.start_processor()
    cron.passes_until(lambda: all(cron.stopped(j) for j in ids), what="all jobs to stop")
    ran_once_each(cron.runs, ids)


def test_two_cron_passes_at_once_never_place_a_job_twice(cron):
    ids = [submit(cron.url, cron.runs) for _ in range(20)]
    for _ in range(10):
        passes = [banyan(cron.state, "scheduler", "--once") for _ in range(4)]
        for p in passes:
            p.wait(timeout=60)
        if all(cron.stopped(j) for j in ids):
            break
    cron.passes_until(lambda: all(cron.stopped(j) for j in ids), what="all jobs to stop")
    ran_once_each(cron.runs, ids)
    for job_id in ids:
        assert read(cron.state, "scheduler", "jobs", job_id, "attempts") == "1"


def test_random_kill_9_of_scheduler_and_processor_under_load(up, tmp_path):
    runs = str(tmp_path / "runs")
    rng = random.Random(int(os.environ.get("BANYAN_CRASH_SEED", time.time())))
    ids, kills = [], collections.Counter()
    for _ in range(TRIALS):
        for _ in range(rng.randint(1, 4)):
            ids.append(submit(up.url, runs))
        time.sleep(rng.uniform(0, 0.25))
        role = rng.choice(["scheduler", "processor"])
        victim = wait_until(lambda: up.children().get(role), what=f"up to restart the {role}")
        victim.send_signal(signal.SIGKILL)
        kills[role] += 1
    wait_until(lambda: all(up.cat("scheduler", "jobs", j, "state") == "stopped\n" for j in ids),
               timeout=120, interval=0.2, what="every job to stop")
    bad = {j: up.cat("scheduler", "jobs", j, "result") for j in ids
           if up.cat("scheduler", "jobs", j, "status") != "good\n"}
    assert bad == {}
    ran_once_each(runs, ids)
    print(f"{TRIALS} trials, {len(ids)} jobs, kills {dict(kills)}: all stopped good, each ran once")
