"""A real `banyan processor` on loopback, driven over HTTP as the scheduler drives it.

The contract tests run once per backend: `local` (this machine) and `slurm` (a real
one-node Slurm cluster, tests/slurm_fixture.py); the scheduler cannot tell them apart.
The tests after them are about what only the local backend has.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psutil
import pytest
from conftest import ROOT, alive, free_port, wait_until
from banyan.processor.reporter import GATHER, Reporter, hand
from banyan.spool import Spool
from slurm_fixture import slurm_cluster  # noqa: F401 - a fixture

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Processor:
    def __init__(self, state: str, backend: str = "local", env: dict | None = None,
                 scheduler: str = "http://127.0.0.1:9", name: str = "p1", start: bool = True,
                 args: tuple = ()):
        self.state = state
        self.args = args
        self.backend = backend
        self.env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
        self.scheduler = scheduler
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        if start:
            self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "banyan", "--state", self.state, "processor",
             "--listen", f"127.0.0.1:{self.port}", "--name", self.name, "--url", self.scheduler,
             "--backend", self.backend, *self.args],
            env=self.env, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: self.call("GET", "/processor/health")[0] == 200, timeout=20,
                   what="processor to answer")

    def call(self, method: str, path: str, body=None) -> tuple[int, dict | bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with OPENER.open(req, timeout=10) as resp:
                code, payload, ctype = resp.status, resp.read(), resp.headers.get_content_type()
        except urllib.error.HTTPError as err:
            code, payload, ctype = err.code, err.read(), err.headers.get_content_type()
        except OSError:
            return 0, {}
        return code, json.loads(payload) if ctype == "application/json" else payload

    def new(self, job_id: str, attempt: int = 1, **fields) -> dict:
        code, rec = self.call("POST", "/processor/job/new",
                              {"request_id": job_id, "attempt": attempt, **fields})
        assert code == 200, rec
        return rec

    def status(self, job_id: str) -> dict:
        return self.call("GET", f"/processor/job/{job_id}/status")[1]

    def stopped(self, job_id: str, timeout: float = 10) -> dict:
        return wait_until(lambda: (s := self.status(job_id))["state"] == "stopped" and s,
                          timeout=timeout, what=f"{job_id} to stop")

    def cat(self, job_id: str, name: str) -> str | None:
        try:
            with open(os.path.join(self.state, "processor", "job", job_id, name)) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def kill_group(self):
        """kill -9 of the processor's whole process group, fork server included."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(params=["local", "slurm"])
def node(request, tmp_path):
    """A processor of each backend: the contract tests run against both."""
    cluster = request.getfixturevalue("slurm_cluster") if request.param == "slurm" else None
    p = Processor(str(tmp_path / "state"), request.param, cluster.env if cluster else {})
    yield p
    if p.proc.poll() is None:
        p.kill_group()
    if cluster:
        cluster.cancel_all()  # the next test has the cluster's CPUs to itself


@pytest.fixture
def local_node(tmp_path):
    p = Processor(str(tmp_path / "state"))
    yield p
    if p.proc.poll() is None:
        p.kill_group()


def sh(script: str) -> list[dict]:
    return [{"shell": script}]


def test_runs_commands_in_order_in_work_dir_with_job_environment(node):
    node.new("j1", commands=[{"exec": ["echo", "one"]}, {"shell": 'echo "$X $BANYAN_JOB_ID"; pwd'}],
             environment={"X": "two"})
    st = node.stopped("j1")
    assert (st["status"], st["result"], st["exit-status"]) == ("good", "success", 0)
    work = os.path.join(node.state, "processor", "job", "j1", "work")
    assert node.cat("j1", "log") == f"one\ntwo j1\n{work}\n"
    assert node.cat("j1", "state") == "stopped\n"


def test_first_failing_command_stops_the_job(node):
    node.new("f1", commands=[{"exec": ["sh", "-c", "exit 3"]}, {"exec": ["echo", "never"]}])
    st = node.stopped("f1")
    assert (st["status"], st["result"], st["exit-status"]) == ("error", "failure", 3)
    assert "never" not in node.cat("f1", "log")


def test_repeated_request_is_the_same_job_and_a_higher_attempt_a_new_run(node, tmp_path):
    runs = str(tmp_path / "runs")
    job = {"commands": sh('echo run >> "$RUNS"; echo once'), "environment": {"RUNS": runs}}
    first = node.new("r1", **job)
    again = node.new("r1", **job)
    assert first["attempt"] == again["attempt"] == 1
    node.stopped("r1")
    node.new("r1", **job)
    time.sleep(0.3)
    assert open(runs).read() == "run\n" and node.status("r1")["attempt"] == 1
    node.new("r1", attempt=2, commands=sh("echo second"))
    st = node.stopped("r1")
    assert st["attempt"] == 2 and node.cat("r1", "log") == "second\n"
    assert node.cat("r1", "attempts/1/log") == "once\n"
    code, err = node.call("POST", "/processor/job/new", {"request_id": "r1", "attempt": 1, "commands": []})
    assert code == 409 and "attempt 2" in err["error"]


def test_kill_terminates_the_whole_tree_then_kills_after_grace(node):
    node.new("k1", kill_grace=1, commands=sh('trap "echo term" TERM; sleep 60 & wait; trap "" TERM; sleep 60'))
    pid = int(wait_until(lambda: node.cat("k1", "pid"), what="pid"))
    wait_until(lambda: len(psutil.Process(pid).children()) == 1, what="child sleep")
    tree = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    code, _ = node.call("POST", "/processor/job/k1/kill")
    assert code == 200
    st = node.stopped("k1")
    assert (st["result"], st["status"], st["signal"]) == ("killed", "error", "KILL")
    assert "term" in node.cat("k1", "log")
    assert not [p for p in tree if alive(p)]
    assert node.call("POST", "/processor/job/k1/kill")[0] == 200  # stopped: changes nothing
    assert node.call("POST", "/processor/job/k1/suspend")[0] == 409


def test_timeout_kills_with_result_timeout(node):
    node.new("t1", timeout=0.5, kill_grace=5, commands=[{"exec": ["sleep", "30"]}])
    st = node.stopped("t1")
    assert (st["result"], st["signal"], st["exit-status"]) == ("timeout", "TERM", 143)


def test_suspend_stops_the_tree_and_continue_resumes_it(node):
    node.new("s1", commands=sh("sleep 60"))
    pid = int(wait_until(lambda: node.cat("s1", "pid"), what="pid"))
    assert node.call("POST", "/processor/job/s1/continue")[0] == 409
    code, rec = node.call("POST", "/processor/job/s1/suspend")
    assert code == 200 and rec["state"] == "suspended"
    wait_until(lambda: psutil.Process(pid).status() == psutil.STATUS_STOPPED, what="the tree to stop")
    code, rec = node.call("POST", "/processor/job/s1/continue")
    assert code == 200 and rec["state"] == "running"
    wait_until(lambda: psutil.Process(pid).status() != psutil.STATUS_STOPPED, what="the tree to go on")
    node.call("POST", "/processor/job/s1/suspend")
    node.call("POST", "/processor/job/s1/kill")  # a suspended job still dies
    assert node.stopped("s1")["result"] == "killed"


def test_progress_by_post_and_log_by_offset(node):
    node.new("p1", commands=sh("printf 'abcdef'; sleep 2"))
    wait_until(lambda: node.cat("p1", "log") == "abcdef", what="output")
    code, rec = node.call("POST", "/processor/job/p1/status", {"progress": 40, "message": "copying inputs"})
    assert code == 200 and rec["progress"] == "40 copying inputs"
    assert node.call("POST", "/processor/job/p1/status", {"progress": 400})[0] == 400
    assert node.call("GET", "/processor/job/p1/log?offset=2")[1] == b"cdef"
    assert node.call("GET", "/processor/job/p1/log?offset=-1")[0] == 400


def test_a_job_cannot_make_its_node_read_through_a_link_or_hang_on_a_fifo(local_node, tmp_path):
    """A job runs with the processor's uid and may replace the files of its folder that
    the node reads back (`progress`, `log`): a link to another file, or a FIFO, a device
    behind a link, are read as nothing, so the record and the log stay answerable."""
    node = local_node
    secret = tmp_path / "secret"
    secret.write_text("not for the job's record\n")
    node.new("h1", commands=sh(f'ln -s {secret} "$BANYAN_JOB_DIR/progress"; '
                               'rm "$BANYAN_JOB_DIR/log"; mkfifo "$BANYAN_JOB_DIR/log"'))
    st = node.stopped("h1")  # the supervisor read `progress` at the end: no hang, no secret
    assert st["progress"] is None and st["result"] == "success"
    assert node.call("GET", "/processor/job/h1/log")[1] == b""
    assert node.call("GET", "/processor/job/h1/artifacts/stdout")[1] == b""
    node.new("h2", commands=sh('ln -s /dev/zero "$BANYAN_JOB_DIR/progress"; sleep 30'))
    wait_until(lambda: os.path.islink(os.path.join(node.state, "processor", "job", "h2", "progress")),
               what="h2's link")
    assert node.status("h2")["progress"] is None
    node.new("h3", commands=sh('head -c 100000 /dev/zero | tr "\\0" x > "$BANYAN_JOB_DIR/progress"'))
    assert len(node.stopped("h3")["progress"]) == 4096  # a bounded read of a long one
    node.call("POST", "/processor/job/h2/kill")


def test_a_command_that_cannot_start_fails_with_127_and_says_why(node):
    node.new("c1", commands=[{"exec": ["no-such-program-here", "x"]}, {"exec": ["echo", "never"]}])
    st = node.stopped("c1")
    assert (st["status"], st["result"], st["exit-status"]) == ("error", "failure", 127)
    assert node.cat("c1", "log") == "banyan: cannot run 'no-such-program-here': No such file or directory\n"


def test_a_program_is_found_on_the_jobs_own_path_and_runs_in_work(local_node, tmp_path):
    """As execvp does: the job's PATH, in order; a file found but not executable is 126;
    a name with a slash is taken from the working directory; signals as by default."""
    bin_dir, plain = tmp_path / "bin", tmp_path / "plain"
    bin_dir.mkdir(), plain.mkdir()
    (bin_dir / "hello").write_text("#!/bin/sh\necho hello from $(pwd)\n")
    (bin_dir / "hello").chmod(0o755)
    (plain / "hello").write_text("#!/bin/sh\necho never\n")
    (plain / "lonely").write_text("#!/bin/sh\necho never\n")
    node = local_node
    path = f"{plain}:{bin_dir}:/usr/bin:/bin"
    node.new("w1", commands=[{"exec": ["hello"]}, {"shell": "printf '#!/bin/sh\\necho local\\n' > t.sh; "
                                                        "chmod +x t.sh; yes | head -1"},
                             {"exec": ["./t.sh"]}], environment={"PATH": path})
    st = node.stopped("w1")
    work = os.path.join(node.state, "processor", "job", "w1", "work")
    assert (st["result"], node.cat("w1", "log")) == ("success", f"hello from {work}\ny\nlocal\n")
    node.new("w3", commands=[{"exec": ["/bin/ls", "/proc/self/fd"]}])
    node.stopped("w3")  # only stdin, stdout, stderr and ls's own listing: the attempt's lock
    assert node.cat("w3", "log").split() == ["0", "1", "2", "3"]  # and pipes stay behind
    node.new("w2", commands=[{"exec": ["lonely"]}], environment={"PATH": path})
    st = node.stopped("w2")
    assert (st["exit-status"], node.cat("w2", "log")) == (
        126, "banyan: cannot run 'lonely': Permission denied\n")


def test_health_reports_capacity(node):
    code, health = node.call("GET", "/processor/health")
    assert code == 200 and health["backend"] == node.backend and health["name"] == "p1"
    assert health["cores"] >= 1 and health["memory"] > 1 << 20 and health["running"] == 0


def test_batch_answers_each_job_and_refuses_bad_ones(node):
    code, out = node.call("POST", "/processor/jobs/new", {"jobs": [
        {"request_id": "b1", "attempt": 1, "commands": sh("true")},
        {"request_id": "../x", "attempt": 1},
        {"request_id": "b2", "attempt": 1, "bogus": 1}]})
    assert code == 200
    first, bad_id, bad_field = out["jobs"]
    assert first["id"] == "b1" and "error" not in first
    assert bad_id["code"] == 400 and "request_id" in bad_id["error"]
    assert bad_field["code"] == 400 and "bogus" in bad_field["error"]
    assert not os.path.exists(os.path.join(node.state, "processor", "job", "b2"))
    node.stopped("b1")
    code, out = node.call("GET", "/processor/jobs/status?ids=b1,nope")
    assert [r["id"] for r in out["jobs"]] == ["b1"]
    assert node.call("GET", "/processor/jobs/status?ids=..%2fx")[0] == 400


def test_jobs_survive_kill_9_of_the_processor_group_and_their_end_is_recorded(node):
    node.new("live", commands=sh("sleep 2; echo done"))
    pid = int(wait_until(lambda: node.cat("live", "pid"), what="pid"))
    node.kill_group()
    assert psutil.pid_exists(pid)
    node.start()
    st = node.stopped("live")
    assert (st["result"], node.cat("live", "log")) == ("success", "done\n")


# Local only: what needs the processes on this machine.

def test_usage_records_the_peak_memory_of_the_tree(local_node):
    node = local_node
    node.new("m1", commands=[{"exec": [sys.executable, "-c",
                                        "import time; x = bytearray(80 << 20); time.sleep(2.5)"]}])
    node.stopped("m1")
    peak, cpu = node.cat("m1", "usage").split()
    assert int(peak) >= 80 << 20 and float(cpu) >= 0


def test_a_vanished_supervisor_makes_the_attempt_lost(local_node):
    node = local_node
    node.new("v1", commands=sh("sleep 60"))
    wait_until(lambda: node.cat("v1", "pid"), what="pid")
    os.kill(int(node.cat("v1", "lock")), signal.SIGKILL)
    st = node.stopped("v1")
    assert (st["result"], st["status"]) == ("lost", "error")
    os.killpg(int(node.cat("v1", "pid")), signal.SIGKILL)


def test_suspended_time_does_not_count_against_the_timeout(node):
    node.new("st", timeout=2, kill_grace=0.2, commands=[{"exec": ["sleep", "1.2"]}])
    wait_until(lambda: node.cat("st", "pid"), what="pid")
    assert node.call("POST", "/processor/job/st/suspend")[1]["state"] == "suspended"
    time.sleep(1.5)
    node.call("POST", "/processor/job/st/continue")
    st = node.stopped("st")
    assert st["result"] == "success"  # 2.7 s of wall time, 1.2 s of running time


def test_a_node_holds_what_it_cannot_start_yet_and_starts_it_when_a_core_frees(tmp_path):
    node = Processor(str(tmp_path / "state"), args=("--cores", "1"))
    try:
        for job_id in ("w1", "w2", "w3"):
            node.new(job_id, commands=sh("sleep 0.5"))
        wait_until(lambda: node.cat("w1", "pid"), what="w1 to start")
        assert [node.status(j)["state"] for j in ("w2", "w3")] == ["starting", "starting"]
        code, body = node.call("POST", "/processor/job/w1/withdraw")
        assert code == 409 and "not waiting" in body["error"]  # it runs: only its own end stops it
        killed = node.call("POST", "/processor/job/w3/kill")[1]
        assert (killed["state"], killed["result"], killed["status"]) == ("stopped", "killed", "error")
        assert node.cat("w3", "log") == "banyan: killed before it started\n"
        first, second = node.stopped("w1"), node.stopped("w2")
        assert (first["result"], second["result"]) == ("success", "success")
        assert second["started-at"] >= first["finished-at"]  # one core: one job at a time
        assert node.cat("w3", "pid") is None and node.cat("w3", "started-at") is None
        assert node.call("POST", "/processor/job/w3/withdraw")[0] == 409  # it has ended
    finally:
        node.kill_group()


def test_a_waiting_job_of_higher_priority_starts_before_those_sent_earlier(tmp_path):
    """The node's waiting line is the scheduler's order: priority, then first come."""
    node = Processor(str(tmp_path / "state"), args=("--cores", "1"))
    try:
        order = tmp_path / "order"
        node.new("busy", commands=sh(f"sleep 0.5; echo busy >> {order}"))
        for job_id, priority in (("low1", 0), ("low2", 0), ("high", 5), ("low3", -1)):
            node.new(job_id, commands=sh(f"echo {job_id} >> {order}"), priority=priority)
        node.stopped("low3")
        assert order.read_text().split() == ["busy", "high", "low1", "low2", "low3"]
    finally:
        node.kill_group()


def test_waiting_jobs_survive_kill_9_of_the_processor_and_start_after_it(tmp_path):
    node = Processor(str(tmp_path / "state"), args=("--cores", "1"))
    node.new("r1", commands=sh("sleep 1"))
    node.new("r2", commands=sh("echo second"))
    wait_until(lambda: node.cat("r1", "pid"), what="r1 to start")
    node.kill_group()
    node.start()  # r1 still runs: r2 waits for its core, then runs once
    try:
        assert node.status("r2")["state"] == "starting"
        first, second = node.stopped("r1"), node.stopped("r2")
        assert second["started-at"] >= first["finished-at"]
        assert node.cat("r2", "log") == "second\n"
    finally:
        node.kill_group()


def let_go(node, job_id):
    """Wait until the job's supervisor has let go of its attempt: it says it is free just
    after, so the next job goes to it rather than to a new one."""
    jobs = Spool(node.state).processor
    wait_until(lambda: not jobs.supervised(job_id), what=f"{job_id}'s supervisor to let go of it")


def test_a_supervisor_process_runs_one_attempt_after_another(local_node):
    node = local_node
    node.new("s1", commands=[{"exec": [sys.executable, "-c", "sum(range(10 ** 7))"]}])
    node.stopped("s1")
    let_go(node, "s1")
    node.new("s2", commands=sh("true"))
    node.stopped("s2")
    assert node.cat("s1", "lock") == node.cat("s2", "lock")  # no fork per job
    cpu = [float(node.cat(j, "usage").split()[1]) for j in ("s1", "s2")]
    assert cpu[0] >= 0.1 and cpu[1] < 0.05  # each attempt's own CPU, not the process's total


def test_a_reused_supervisor_obeys_signals_in_each_attempt_and_dies_of_sigterm_when_idle(local_node):
    """Its signal handlers are set once per process: a later attempt must still be
    suspended and killed through them, and an idle supervisor must still die of SIGTERM."""
    node = local_node
    node.new("g1", commands=sh("true"))
    node.stopped("g1")
    let_go(node, "g1")
    supervisor = int(node.cat("g1", "lock"))
    node.new("g2", commands=sh("sleep 30"))
    wait_until(lambda: node.cat("g2", "pid"), what="g2 to start")
    assert int(node.cat("g2", "lock")) == supervisor
    assert node.call("POST", "/processor/job/g2/suspend")[1]["state"] == "suspended"
    assert node.call("POST", "/processor/job/g2/continue")[1]["state"] == "running"
    assert node.call("POST", "/processor/job/g2/kill")[0] == 200
    assert node.stopped("g2")["result"] == "killed"
    let_go(node, "g2")
    node.new("g3", commands=sh("sleep 30"))
    wait_until(lambda: node.cat("g3", "pid"), what="g3 to start")
    assert int(node.cat("g3", "lock")) == supervisor
    os.kill(supervisor, signal.SIGTERM)  # to a supervisor that runs an attempt: kill the attempt
    assert node.stopped("g3")["result"] == "killed"
    let_go(node, "g3")
    os.kill(supervisor, signal.SIGTERM)  # to an idle one: it dies, as by default
    # dead, not retired (that takes launcher.IDLE_MAX)
    wait_until(lambda: not alive(supervisor), timeout=2, what="the supervisor to die")


def test_a_job_waiting_for_cores_can_be_withdrawn_and_never_runs(tmp_path):
    node = Processor(str(tmp_path / "state"), args=("--cores", "1"))
    try:
        node.new("x1", commands=sh("sleep 1"))
        node.new("x2", commands=sh("echo ran"))
        code, rec = node.call("POST", "/processor/job/x2/withdraw")
        assert code == 200 and (rec["state"], rec["result"]) == ("stopped", "cancelled")
        node.stopped("x1")
        time.sleep(0.3)
        assert node.cat("x2", "log") == "banyan: withdrawn before it started: it goes to another node\n"
        assert node.call("POST", "/processor/job/nope/withdraw")[0] == 404
    finally:
        node.kill_group()


def reports(state: str) -> list[dict]:
    folder = os.path.join(state, "scheduler", "reports")
    out = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name)) as f:
            out.append(json.load(f))
    return out


@pytest.mark.parametrize("drop", [True, False])
def test_a_processor_sharing_the_scheduler_state_drops_its_reports_there(tmp_path, drop):
    """`--drop-reports` (as `banyan up` runs it): starts and ends land in the shared
    state's scheduler/reports/ with no API to POST to; without it, nothing lands there."""
    state = str(tmp_path / "state")
    node = Processor(state, args=("--drop-reports",) if drop else ())  # its scheduler URL is dead
    try:
        node.new("d1", commands=sh("true"))
        node.stopped("d1")
        if not drop:
            time.sleep(0.5)
            assert reports(state) == []
            return
        found = wait_until(lambda: [r for r in reports(state) if any(
            j["id"] == "d1" and j["state"] == "stopped" for j in r["jobs"])], what="the end's report")
        assert found[0]["node"] == "p1"
        assert found[0]["jobs"][-1]["result"] == "success"
    finally:
        node.kill_group()


def test_records_that_come_together_share_a_report_and_each_end_is_heard_at_once(tmp_path):
    """The processor's reporter holds records for GATHER after its last report, so records
    that come close together share one (each had been a file of its own): however the
    writes fall, n reports span at least (n - 2) GATHERs. An end reaches `ended`, which
    frees its cores, when it is read, not when it is reported."""
    spool = Spool(str(tmp_path / "state"))
    reporter = Reporter("p1", None, None, drop=spool.reports)
    heard: dict[str, float] = {}
    reporter.start(lambda job_id: heard.setdefault(job_id, time.monotonic()), lambda: None)
    first = time.monotonic()
    for i in range(40):
        hand(reporter.fd, {"id": f"r{i}", "state": "stopped", "result": "success"}, "p1", None, None)
        time.sleep(0.0005)
    last = time.monotonic()
    wait_until(lambda: len(heard) == 40, what="every end heard")
    assert max(heard.values()) - last < 1.0
    folder = os.path.join(spool.root, "scheduler", "reports")
    wait_until(lambda: sum(len(r["jobs"]) for r in reports(spool.root)) == 40, what="every end reported")
    files = len(os.listdir(folder))
    assert files <= (last - first) / GATHER + 2, f"{files} reports in {1000 * (last - first):.1f} ms"
    assert [j["id"] for r in reports(spool.root) for j in r["jobs"]] == [f"r{i}" for i in range(40)]


def test_probes_of_the_attempts_locks_never_keep_a_supervisor_from_starting_it(tmp_path):
    """The processor asks "does a supervisor hold this attempt?" by taking the lock for a
    moment (its tick, every second, for each attempt holding cores; a kill). A probe that
    met a new supervisor's first try kept that attempt `starting` for ever, its cores
    taken; the supervisor now tries again for a moment. Here a thread probes the lock of
    each new job without pause, from before its folder exists until it has stopped."""
    state = str(tmp_path / "state")
    node = Processor(state, args=("--cores", "2"))
    jobs = Spool(state).processor
    current: list[str] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            if current:
                jobs.supervised(current[-1])

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        for i in range(30):
            current.append(f"p{i:02d}")
            node.new(current[-1], commands=sh("true"))
            assert node.stopped(current[-1], timeout=10)["result"] == "success"
    finally:
        done.set()
        node.kill_group()
