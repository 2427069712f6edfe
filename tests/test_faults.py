"""Faults with real processes: a node that stops answering, drain and unregister, the
scheduler's suspend and hold verbs, and a full disk."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from banyan import timefmt
from banyan.defaults import COVER, MAX_BACKLOG, RUN_FLOOR, TICK
from conftest import ROOT, STRICT, Up, curl, free_port, need, split_code, wait_until


def post(url: str, body: dict | None = None) -> tuple[dict, int]:
    args = ["-X", "POST"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    text, code = split_code(curl(*args, url))
    return json.loads(text), code


def get(url: str) -> dict:
    return json.loads(split_code(curl(url))[0])


class Node:
    """A second real processor, with its own state folder, registered with `up`."""

    def __init__(self, up: Up, tmp_path, name: str = "n2", cores: int = 64):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = str(tmp_path / f"{name}-state")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "banyan", "--state", self.state, "processor", "--listen",
             f"127.0.0.1:{self.port}", "--name", name, "--scheduler", up.url, "--cores", str(cores)],
            env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: any(n["name"] == name and n["state"] == "up"
                               for n in get(f"{up.url}/scheduler/nodes")["nodes"]), what="registration")

    def record(self, job_id: str) -> dict:
        return get(f"{self.url}/processor/job/{job_id}/status")

    def close(self):
        os.killpg(self.proc.pid, signal.SIGCONT)
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def fast_up(tmp_path):
    """`banyan up` with a 2 s node timeout, so a silent node is judged quickly."""
    need("curl")
    system = Up(str(tmp_path / "state"), free_port(), extra=("--node-timeout", "2"))
    yield system
    system.stop()


@pytest.fixture
def n2(fast_up, tmp_path):
    node = Node(fast_up, tmp_path)
    yield node
    node.close()


def submit(up: Up, **fields) -> str:
    body, code = post(f"{up.url}/scheduler/jobs/new", fields)
    assert code == 201, body
    return body["request_id"]


def status(up: Up, job_id: str) -> dict:
    return get(f"{up.url}/scheduler/jobs/{job_id}/status")


def on(up: Up, job_id: str, state: str, node: str | None = None, timeout: float = 45) -> dict:
    def check():
        st = status(up, job_id)
        return st["state"] == state and (node is None or st["node"] == node) and st
    return wait_until(check, timeout=timeout, what=f"{job_id} {state} on {node}")


def test_silent_node_loses_its_job_which_is_retried_elsewhere_and_the_stale_copy_killed(fast_up, n2):
    job_id = submit(fast_up, commands=[{"shell": 'if [ "$BANYAN_NODE" = n2 ]; then sleep 60; fi'}],
                    max_attempts=2)
    on(fast_up, job_id, "running", "n2")
    os.kill(n2.proc.pid, signal.SIGSTOP)  # the processor stops answering; its job runs on
    wait_until(lambda: (s := status(fast_up, job_id))["node"] == "local" and s["state"] in ("running", "stopped"),
               timeout=45, what="the retry on local (it ends at once there)")
    events = fast_up.cat("scheduler", "jobs", job_id, "events")
    assert "attempt-lost node unreachable" in events
    assert fast_up.cat("scheduler", "nodes", "n2", "state") == "down\n"
    os.kill(n2.proc.pid, signal.SIGCONT)
    wait_until(lambda: n2.record(job_id)["result"] == "killed", timeout=30, what="the stale copy to be killed")
    assert "stale-killed attempt 1 on node n2" in fast_up.cat("scheduler", "jobs", job_id, "events")
    st = on(fast_up, job_id, "stopped", "local")
    assert (st["result"], fast_up.cat("scheduler", "jobs", job_id, "attempts")) == ("success", "2\n")
    assert fast_up.cat("scheduler", "nodes", "n2", "state") == "up\n"


def test_lost_job_not_retried_is_adopted_with_its_real_outcome_when_its_node_returns(fast_up, n2):
    job_id = submit(fast_up, commands=[{"shell": "sleep 15; echo done"}])
    on(fast_up, job_id, "running", "n2")
    os.kill(n2.proc.pid, signal.SIGSTOP)
    st = on(fast_up, job_id, "stopped", "n2")
    assert st["result"] == "lost"
    os.kill(n2.proc.pid, signal.SIGCONT)
    wait_until(lambda: "adopted" in fast_up.cat("scheduler", "jobs", job_id, "events"), timeout=30,
               what="adoption")
    st = wait_until(lambda: (s := status(fast_up, job_id))["result"] == "success"
                    and s["state"] == "stopped" and s, timeout=20, what="its real end")  # `state` is written last
    assert st["state"] == "stopped" and st["status"] == "good"
    assert fast_up.cat("processor", "job", job_id, "log") is None  # it ran on n2 only


def test_drain_places_nothing_new_and_unregister_kills_and_requeues(fast_up, n2):
    first = submit(fast_up, commands=[{"shell": "sleep 30"}])
    on(fast_up, first, "running", "n2")
    node, code = post(f"{fast_up.url}/scheduler/nodes/n2/drain")
    assert code == 200 and node["state"] == "draining"
    second = submit(fast_up, commands=[{"exec": ["true"]}])
    assert on(fast_up, second, "stopped")["node"] == "local"
    assert status(fast_up, first)["node"] == "n2"  # a draining node keeps its running jobs
    text, code = split_code(curl("-X", "DELETE", f"{fast_up.url}/scheduler/nodes/n2"))
    assert code == 200, text
    wait_until(lambda: n2.record(first)["state"] == "stopped", what="kill on n2")
    assert n2.record(first)["result"] == "killed"
    on(fast_up, first, "running", "local")
    assert "evicted node n2 unregistered" in fast_up.cat("scheduler", "jobs", first, "events")
    assert split_code(curl(f"{fast_up.url}/scheduler/nodes/n2"))[1] == 404


def test_suspend_continue_hold_release_through_the_scheduler(up):
    job_id = submit(up, commands=[{"shell": "sleep 30"}])
    on(up, job_id, "running")
    rec, code = post(f"{up.url}/scheduler/jobs/{job_id}/suspend")
    assert code == 200 and rec["state"] == "suspended"
    assert up.cat("processor", "job", job_id, "state") == "suspended\n"
    assert post(f"{up.url}/scheduler/jobs/{job_id}/suspend")[1] == 409
    assert post(f"{up.url}/scheduler/jobs/{job_id}/hold")[1] == 409
    assert post(f"{up.url}/scheduler/jobs/{job_id}/release")[1] == 409
    rec, code = post(f"{up.url}/scheduler/jobs/{job_id}/continue")
    assert code == 200 and rec["state"] == "running"
    assert up.cat("processor", "job", job_id, "state") == "running\n"
    post(f"{up.url}/scheduler/jobs/{job_id}/kill")
    assert on(up, job_id, "stopped")["result"] == "killed"


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs: needs root (mount); skipped otherwise, never in CI."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        message = "mounting a small tmpfs needs root"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_answers_507_leaves_nothing_and_recovers(small_disk):
    """Its log on the same full disk (as `banyan up > up.log` beside `./state` would be),
    the system refuses work with 507 and every process lives through it: the daemon's
    passes that cannot write (the node's `last-seen`, each tick) are tried again."""
    need("curl")
    up = Up(str(small_disk / "state"), free_port())
    try:
        before = {role: p.pid for role, p in up.children().items()}
        filler = small_disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"x" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        body, code = post(f"{up.url}/scheduler/jobs/new", {"commands": [{"exec": ["true"]}]})
        assert code == 507 and "disk full" in body["error"]
        assert os.listdir(up.path("incoming")) == [] and os.listdir(up.path("tmp")) == []
        assert os.listdir(up.path("scheduler", "jobs")) == []
        time.sleep(2 * TICK + 0.5)  # the daemon's polls of the node want to write `last-seen`
        filler.unlink()
        job_id = submit(up, commands=[{"exec": ["echo", "ok"]}])
        assert on(up, job_id, "stopped")["status"] == "good"
        assert {role: p.pid for role, p in up.children().items()} == before
    finally:
        up.stop()


def test_a_node_is_sent_its_size_times_one_plus_backlog_and_the_rest_stays_queued(fast_up, tmp_path):
    one = Node(fast_up, tmp_path, name="one", cores=1)
    try:
        post(f"{fast_up.url}/scheduler/nodes/local/drain")
        ids = [submit(fast_up, commands=[{"shell": "sleep 1"}]) for _ in range(4)]
        wait_until(lambda: any(status(fast_up, j)["state"] == "running" for j in ids), what="a job to run")
        now = [status(fast_up, j) for j in ids]
        assert sorted(s["state"] for s in now) == ["queued", "queued", "running", "starting"]
        assert [s["node"] for s in now if s["state"] != "queued"] == ["one", "one"]
        for job_id in ids:  # each starts as the one before ends: one core
            assert on(fast_up, job_id, "stopped", "one", timeout=30)["result"] == "success"
    finally:
        one.close()


def test_a_node_whose_jobs_are_short_is_sent_a_longer_backlog(fast_up, tmp_path):
    """After short jobs, a 1-core node is sent 1 + backlog jobs, the backlog being COVER
    seconds of their run time (at least `--backlog`, 1 here; at most MAX_BACKLOG), computed
    here as the daemon does from the jobs' own `started-at` and `finished-at`."""
    one = Node(fast_up, tmp_path, name="one", cores=1)
    try:
        post(f"{fast_up.url}/scheduler/nodes/local/drain")
        run = None
        for _ in range(5):  # one at a time: the daemon's moving average takes them in order
            job_id = submit(fast_up, commands=[{"exec": ["true"]}])
            assert on(fast_up, job_id, "stopped", "one", timeout=30)["result"] == "success"
            record = one.record(job_id)
            began, ended = (timefmt.parse(record[f]) for f in ("started-at", "finished-at"))
            run = ended - began if run is None else 0.8 * run + 0.2 * (ended - began)
        room = int(1 + max(1.0, min(MAX_BACKLOG, COVER / max(run, RUN_FLOOR))))  # 17 at 1 ms
        answer, code = post(f"{fast_up.url}/scheduler/jobs/new",
                            {"array": f"1-{room + 2}", "commands": [{"shell": "sleep 5"}]})
        assert code == 201, answer
        tasks = list(answer["jobs"].values())  # one file, so one pass places them all
        try:
            wait_until(lambda: sum(status(fast_up, j)["node"] == "one" for j in tasks) == room,
                       what=f"{room} jobs on node one")
            states = sorted(status(fast_up, j)["state"] for j in tasks)
            assert states == sorted(["queued"] * 2 + ["running"] + ["starting"] * (room - 1))
        finally:
            for job_id in tasks:
                post(f"{fast_up.url}/scheduler/jobs/{job_id}/kill")
        for job_id in tasks:
            assert on(fast_up, job_id, "stopped", timeout=30)["status"] == "error"
    finally:
        one.close()


def test_a_job_waiting_on_a_busy_node_moves_to_a_node_that_has_room(fast_up, tmp_path):
    one = Node(fast_up, tmp_path, name="one", cores=1)
    two = None
    try:
        post(f"{fast_up.url}/scheduler/nodes/local/drain")
        long = submit(fast_up, commands=[{"shell": "sleep 20"}])
        on(fast_up, long, "running", "one")
        short = submit(fast_up, commands=[{"shell": "echo moved"}])
        wait_until(lambda: status(fast_up, short)["node"] == "one", what="the backlog on node one")
        assert status(fast_up, short)["state"] == "starting"  # waits there for the core
        two = Node(fast_up, tmp_path, name="two", cores=1)
        st = on(fast_up, short, "stopped", "two", timeout=30)
        assert (st["result"], fast_up.cat("scheduler", "jobs", short, "attempts")) == ("success", "2\n")
        assert "withdrawn waiting on node one while node two has room" in \
            fast_up.cat("scheduler", "jobs", short, "events")
        assert status(fast_up, long)["state"] == "running"  # a running job is never moved
    finally:
        one.close()
        if two:
            two.close()


def test_a_node_registers_only_once_it_listens(up, tmp_path):
    """The scheduler places on a node as soon as it is registered: a processor that
    registered before its socket listened would have its first jobs refused."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "banyan", "--state", str(tmp_path / "n4-state"), "processor",
         "--listen", f"127.0.0.1:{port}", "--name", "n4", "--scheduler", up.url],
        env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: os.path.exists(up.path("scheduler", "nodes", "n4", "uri")),
                   interval=0.001, what="registration")
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # refused if it registered first
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_line_to_a_full_stderr_is_dropped_and_the_process_goes_on():
    """What daemons print (the reporter's errors, `up`'s restarts) goes through logline,
    which never raises: /dev/full fails every write with ENOSPC, as a full disk does."""
    code = ("import sys; from banyan import logline\n"
            "try:\n    1 / 0\nexcept ZeroDivisionError:\n    logline.trace()\n"
            "logline.warn('banyan: a line'); print('went on')")
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=full,
                             text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=30)
    assert (out.returncode, out.stdout) == (0, "went on\n")
