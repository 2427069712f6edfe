"""The `banyan` client commands against a real `banyan up` on loopback, checked with `cat`.

One `banyan up` serves the whole module (starting one takes about a second; every
test makes its own jobs and nodes, so they do not see each other's). Jobs that must
not run are pinned to a node that does not exist (`--node nowhere`): they stay queued.
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, Up, banyan_cmd, free_port, need, wait_until

from banyan.cli import client, show

pytestmark = pytest.mark.timeout(60)

# The exit codes as the README documents them (not imported: a test must catch a change).
JOB_ERROR, USAGE, REFUSED, UNREACHABLE = 1, 2, 3, 4

@pytest.fixture(scope="module")
def up(tmp_path_factory):
    need("curl")
    system = Up(str(tmp_path_factory.mktemp("cli") / "state"), free_port())
    yield system
    system.stop()


def run(up, *args, env=None, stdin=None, timeout=30) -> subprocess.CompletedProcess:
    """`banyan ARGS` as a user runs it: BANYAN_URL and BANYAN_STATE point at `up`."""
    return subprocess.run(banyan_cmd(*args), check=False, env=dict(up.env, **(env or {})), input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def ok(up, *args, **kw) -> str:
    out = run(up, *args, **kw)
    assert out.returncode == 0, f"banyan {' '.join(args)} exited {out.returncode}: {out.stderr}"
    return out.stdout


def refused(out: subprocess.CompletedProcess, code: int) -> str:
    """Assert exit `code` with exactly one `banyan...` line on stderr; return that line."""
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("banyan"), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def queued_job(up, *extra) -> str:
    """A job that stays queued: no node is called `nowhere`."""
    job_id = ok(up, "submit", "--node", "nowhere", *extra, "--", "true").strip()
    wait_until(lambda: up.cat("scheduler", "jobs", job_id, "state") == "queued\n", what="queued")
    return job_id


def request_of(up, job_id: str) -> dict:
    wait_until(lambda: up.cat("scheduler", "jobs", job_id, "request.json"), what="intake")
    return json.loads(up.cat("scheduler", "jobs", job_id, "request.json"))


# -- usage and connection errors (no server needed) ------------------------------


def test_help_lists_every_command_and_the_exit_codes():
    out = subprocess.run(banyan_cmd("--help"), check=False, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for command in ("submit", "status", "list", "log", "kill", "hold", "release", "suspend",
                    "continue", "dag", "nodes", "node", "stats", "artifact"):
        assert f"\n    {command} " in out.stdout, command
    assert "exit codes" in out.stdout and "3  the server refused" in out.stdout


@pytest.mark.parametrize("args", [
    [],
    ["status"],
    ["status", "../etc"],
    ["kill", "a b"],
    ["list", "--state", "bogus"],
    ["list", "--limit", "many"],
    ["submit", "--priority", "high", "--", "true"],
    ["submit", "--env", "NOEQUALS", "--", "true"],
    ["submit", "-f", "/nonexistent/job.json"],
    ["submit", "--shell"],
    ["node", "add", "n1"],
    ["node", "frobnicate", "n1"],
    ["--url", "ftp://example.org", "list"],
    ["list", "--url", "http://127.0.0.1:notaport"],
])
def test_bad_usage_is_one_line_and_exit_2(args):
    out = subprocess.run(banyan_cmd(*args), check=False, capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, BANYAN_URL="http://127.0.0.1:9"))
    refused(out, USAGE)


def test_bad_request_file_is_usage(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    out = subprocess.run(banyan_cmd("submit", "-f", str(bad)), check=False, capture_output=True,
                         text=True,
                         timeout=30, env=dict(os.environ, BANYAN_URL="http://127.0.0.1:9"))
    assert "is not JSON" in refused(out, USAGE)


def test_unreachable_server_is_exit_4():
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["list"], ["submit", "--", "true"], ["status", "x"], ["stats"]):
        out = subprocess.run(banyan_cmd("--url", url, *args), check=False, capture_output=True, text=True,
                             timeout=30)
        assert "cannot reach" in refused(out, UNREACHABLE)
    out = subprocess.run(banyan_cmd("list", "--url", url), check=False, capture_output=True,
                         text=True, timeout=30)  # the global option after the command
    assert refused(out, UNREACHABLE) == f"banyan: cannot reach {url}: Connection refused"


# -- submit ------------------------------------------------------------------------


def test_submit_options_become_the_request(up):
    job_id = ok(up, "submit", "--name", "nightly", "--priority", "5", "--timeout", "30",
                "--kill-grace", "2", "--max-attempts", "3", "--cores", "2", "--memory", "1G",
                "--gpus", "0", "--node", "nowhere", "--env", "A=1", "--env", "B=x=y",
                "--", "echo", "-n", "hi there").strip()
    assert client.id_arg()(job_id) == job_id and "\n" not in job_id
    req = request_of(up, job_id)
    assert req["name"] == "nightly" and req["priority"] == 5
    assert (req["timeout"], req["kill_grace"], req["max_attempts"]) == (30, 2, 3)
    assert req["resources"] == {"cores": 2, "memory": 1 << 30, "gpus": 0}
    assert req["node"] == "nowhere"
    assert req["environment"] == {"A": "1", "B": "x=y"}
    assert req["commands"] == [{"exec": ["echo", "-n", "hi there"]}]
    assert req["parent"] is None


def test_submit_shell_file_stdin_and_request_id(up, tmp_path):
    job_id = ok(up, "submit", "--node", "nowhere", "--shell", "--", "echo a | wc -l").strip()
    assert request_of(up, job_id)["commands"] == [{"shell": "echo a | wc -l"}]

    spec = tmp_path / "job.json"
    spec.write_text(json.dumps({"name": "from-file", "commands": [{"exec": ["true"]}],
                                "node": "nowhere", "environment": {"K": "v"}}))
    job_id = ok(up, "submit", "-f", str(spec), "--name", "override", "--env", "L=w").strip()
    req = request_of(up, job_id)
    assert req["name"] == "override" and req["commands"] == [{"exec": ["true"]}]
    assert req["environment"] == {"K": "v", "L": "w"}

    job_id = ok(up, "submit", "-f", "-", stdin='{"node": "nowhere", "name": "stdin"}').strip()
    assert request_of(up, job_id)["name"] == "stdin"

    first = ok(up, "submit", "--request-id", "cli-repeat-1", "--node", "nowhere", "--", "true")
    again = ok(up, "submit", "--request-id", "cli-repeat-1", "--node", "nowhere", "--", "true")
    assert first == again == "cli-repeat-1\n"
    answer = json.loads(ok(up, "submit", "--json", "--request-id", "cli-repeat-1"))
    assert answer == {"request_id": "cli-repeat-1"}


def test_submit_refused_by_the_server_is_exit_3(up):
    line = refused(run(up, "submit", "--depends-on", "no-such-job", "--", "true"), REFUSED)
    assert line == "banyan: depends_on: no job no-such-job"
    line = refused(run(up, "submit", "--env", "BANYAN_X=1", "--", "true"), REFUSED)
    assert "reserved" in line
    refused(run(up, "submit", "--memory", "lots", "--", "true"), REFUSED)


def test_submit_inside_a_job_records_the_parent(up):
    parent = queued_job(up)
    child = ok(up, "submit", "--node", "nowhere", "--", "true",
               env={"BANYAN_JOB_ID": parent}).strip()
    wait_until(lambda: up.cat("scheduler", "jobs", child, "parent"), what="parent file")
    assert up.cat("scheduler", "jobs", child, "parent") == parent + "\n"


def test_wait_exits_0_when_good_and_1_when_not(up):
    out = run(up, "submit", "--wait", "--name", "barrier")  # a group: stops good at once
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert up.cat("scheduler", "jobs", job_id, "status") == "good\n"
    assert f"{job_id} stopped: good (success)" in out.stderr

    blocker = queued_job(up)
    waiter = subprocess.Popen(banyan_cmd("submit", "--wait", "--depends-on", blocker),
                              env=up.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        group = waiter.stdout.readline().strip()
        wait_until(lambda: up.cat("scheduler", "jobs", group, "state") == "waiting\n",
                   what="the group to wait for its dependency")
        assert ok(up, "kill", blocker) == f"{blocker} stopped cancelled\n"
        _, err = waiter.communicate(timeout=20)
    finally:
        waiter.kill()
    assert waiter.returncode == JOB_ERROR, err
    assert f"{group} waiting" in err and f"{group} stopped: error (cancelled)" in err
    assert up.cat("scheduler", "jobs", group, "result") == "cancelled\n"


# -- looking at jobs and changing their state ---------------------------------------


def test_status_and_list(up):
    job_id = queued_job(up, "--name", "looked-at")
    text = ok(up, "status", job_id)
    assert f"id           {job_id}\n" in text and "state        queued\n" in text
    assert json.loads(ok(up, "status", "--json", job_id))["state"] == "queued"
    full = ok(up, "status", "--all", job_id)
    assert "events\n" in full and " submitted " in full and "unplaceable" in full
    assert json.loads(ok(up, "status", "-a", "--json", job_id))["request"]["node"] == "nowhere"

    table = ok(up, "list", "--name", "looked-at").splitlines()
    assert table[0].split() == ["ID", "NAME", "STATE", "STATUS", "RESULT", "NODE", "CREATED"]
    assert [row.split()[:6] for row in table[1:]] == [[job_id, "looked-at", "queued", "unknown",
                                                       "-", "-"]]
    jobs = json.loads(ok(up, "list", "--json", "--state", "queued"))["jobs"]
    assert job_id in [j["id"] for j in jobs] and {j["state"] for j in jobs} == {"queued"}
    assert ok(up, "list", "--state", "held", "--name", "looked-at").splitlines()[1:] == []
    after = json.loads(ok(up, "list", "--json", "--after", job_id, "--name", "looked-at"))
    assert after == {"jobs": []}
    assert len(json.loads(ok(up, "list", "--json", "--limit", "1"))["jobs"]) == 1
    # the global --state DIR still works before the command
    assert job_id in ok(up, "--state", up.state, "list", "--state", "queued")


def test_hold_release_kill_and_refusals(up):
    job_id = queued_job(up)
    assert ok(up, "hold", job_id) == f"{job_id} held\n"
    assert up.cat("scheduler", "jobs", job_id, "state") == "held\n"
    line = refused(run(up, "hold", job_id), REFUSED)
    assert line.startswith(f"banyan: job {job_id} is held")
    refused(run(up, "suspend", job_id), REFUSED)
    assert ok(up, "release", job_id) == f"{job_id} queued\n"
    assert json.loads(ok(up, "kill", "--json", job_id))["result"] == "cancelled"
    assert up.cat("scheduler", "jobs", job_id, "state") == "stopped\n"
    assert up.cat("scheduler", "jobs", job_id, "status") == "error\n"
    assert ok(up, "kill", job_id) == f"{job_id} stopped cancelled\n"  # already stopped: no change
    refused(run(up, "continue", job_id), REFUSED)
    assert refused(run(up, "status", "no-such-job"), REFUSED) == "banyan: no job no-such-job"
    refused(run(up, "log", "no-such-job"), REFUSED)


def test_kill_many_reports_each_and_the_worst_code(up):
    a, b = queued_job(up), queued_job(up)
    out = run(up, "kill", a, "no-such-job", b)
    assert out.returncode == REFUSED
    assert out.stdout.splitlines() == [f"{a} stopped cancelled", f"{b} stopped cancelled"]
    assert out.stderr == "banyan: no job no-such-job\n"


def test_log_of_a_job_that_never_ran_is_empty_and_follow_ends_when_it_stops(up):
    job_id = queued_job(up)
    assert ok(up, "log", job_id) == ""
    follower = subprocess.Popen(banyan_cmd("log", "-f", job_id), env=up.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            follower.wait(timeout=0.5)  # still following: the job has not stopped
        ok(up, "kill", job_id)
        out, err = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    assert out == ""


def test_artifact_errors(up, tmp_path):
    target = tmp_path / "out.bin"
    refused(run(up, "artifact", "no-such-job", "stdout", "-o", str(target)), REFUSED)
    assert not target.exists() and os.listdir(tmp_path) == []
    refused(run(up, "artifact", "x", "../y"), USAGE)


# -- nodes and stats ----------------------------------------------------------------


def test_nodes_add_drain_remove(up):
    table = ok(up, "nodes").splitlines()
    assert table[0].split()[:3] == ["NAME", "STATE", "CORES"]
    assert [r.split()[0] for r in table[1:]] == ["local"]

    # port 9 refuses at once, so the scheduler's polls of this node cost nothing
    text = ok(up, "node", "add", "cli-n2", "http://127.0.0.1:9", "--cores", "8", "--memory",
              "16G", "--gpus", "1", "--label", "big", "--label", "fast,ssd")
    assert "cores      8\n" in text and "memory     16 GiB\n" in text
    assert up.cat("scheduler", "nodes", "cli-n2", "uri") == "http://127.0.0.1:9\n"
    assert up.cat("scheduler", "nodes", "cli-n2", "memory") == f"{16 << 30}\n"
    assert up.cat("scheduler", "nodes", "cli-n2", "labels") == "big,fast,ssd\n"
    row = [r for r in ok(up, "nodes").splitlines() if r.startswith("cli-n2 ")]
    assert row and "16 GiB" in row[0] and "big,fast,ssd" in row[0]
    nodes = json.loads(ok(up, "nodes", "--json"))["nodes"]
    assert {n["name"] for n in nodes} == {"local", "cli-n2"}

    assert ok(up, "node", "drain", "cli-n2") == "cli-n2 draining\n"
    assert up.cat("scheduler", "nodes", "cli-n2", "state") == "draining\n"
    assert "cli-n2" not in ok(up, "nodes", "--available")
    assert ok(up, "node", "remove", "cli-n2") == "cli-n2 removed\n"
    assert not os.path.exists(up.path("scheduler", "nodes", "cli-n2"))
    assert refused(run(up, "node", "remove", "cli-n2"), REFUSED) == "banyan: no node cli-n2"
    refused(run(up, "node", "drain", "cli-n2"), REFUSED)
    assert "uri" in refused(run(up, "node", "add", "cli-n3", "not-a-url"), REFUSED)
    assert not os.path.exists(up.path("scheduler", "nodes", "cli-n3"))


def test_stats(up):
    queued_job(up)
    text = ok(up, "stats")
    assert text.startswith("jobs       incoming ") and "queued " in text
    assert "NODE" in text and "\nlocal " in text
    data = json.loads(ok(up, "stats", "--json"))
    assert data["by_state"]["queued"] >= 1 and "local" in data["by_node"]


# -- dag -----------------------------------------------------------------------------

DAG = {"id": "b", "parents": [{"id": "a", "state": "running", "status": "unknown"}],
       "children": [{"id": "c", "state": "queued", "status": "unknown"}],
       "dependencies": [{"id": "d", "state": "stopped", "status": "good"}],
       "dependents": [{"id": "e", "state": "stopped", "status": "error"},
                      {"id": 'q"x', "state": "waiting", "status": "unknown"}]}


def test_dag_text_lists_each_relation():
    text = show.dag_text(DAG)
    assert text.splitlines()[:3] == ["b", "parents:", "  a  running  unknown"]
    assert "dependencies:\n  d  stopped  good\n" in text
    assert show.dag_text({"id": "lonely"}) == ("lonely\nparents: -\nchildren: -\n"
                                               "dependencies: -\ndependents: -\n")


def test_dag_against_the_server(up):
    first = queued_job(up)
    second = ok(up, "submit", "--depends-on", first, "--", "true").strip()
    out = run(up, "dag", "--json", second)
    assert out.returncode == 0, out.stderr
    assert [d["id"] for d in json.loads(out.stdout)["dependencies"]] == [first]
    assert f'"{first}" -> "{second}";' in ok(up, "dag", "--dot", second)
    assert ok(up, "dag", second).startswith(second)


# -- output formatting (pure) --------------------------------------------------------


def test_tables_and_records_never_print_control_characters():
    text = show.table([{"id": "j1", "name": "evil\x1b[2Jname\ttab"}], [("id", "ID"), ("name", "NAME")])
    assert "\x1b" not in text and "evil?[2Jname tab" in text
    assert show.record({"a": None, "bb": [1, 2]}) == "a   -\nbb  1,2\n"
    assert [show.size(n) for n in (0, 1023, 1024, 1536, 16 << 30)] == \
        ["0 B", "1023 B", "1 KiB", "1.5 KiB", "16 GiB"]


def test_progress_lines_of_wait():
    base = {"id": "j", "state": "queued", "attempts": 0}
    assert show.change(None, base) == ["j queued"]
    assert show.change(base, base) == []
    running = dict(base, state="running", node="n1", attempts=1, progress="40 copying")
    assert show.change(base, running) == ["j running on n1", "j progress 40 copying"]
    retry = dict(running, attempts=2)
    assert show.change(running, retry) == ["j running on n1, attempt 2"]
    done = dict(retry, state="stopped", status="error", result="failure", **{"exit-status": 3})
    assert show.change(retry, done) == ["j stopped: error (failure, exit status 3)"]


def test_error_message_of_any_answer():
    assert client.error_message(409, "Conflict", b'{"error": "job x is held"}') == "job x is held"
    assert client.error_message(502, "Bad Gateway", b"<html>oops</html>") == "HTTP 502 Bad Gateway"
    assert client.error_message(404, "Not Found", b"gone\nmore") == "HTTP 404 Not Found: gone"


# -- with a processor: jobs run -------------------------------------------------------


def test_wait_log_and_exit_codes_of_jobs_that_run(up):
    out = run(up, "submit", "--wait", "--name", "greet", "--", "sh", "-c", "echo hello; echo err >&2")
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert f"{job_id} stopped: good (success, exit status 0)" in out.stderr
    assert ok(up, "log", job_id) == "hello\nerr\n"
    failed = run(up, "submit", "--wait", "--shell", "--", "exit 3")
    assert failed.returncode == JOB_ERROR
    assert "stopped: error (failure, exit status 3)" in failed.stderr


def test_log_follow_streams_while_the_job_runs(up):
    job_id = ok(up, "submit", "--shell", "--", "echo one; sleep 3; echo two").strip()
    follower = subprocess.Popen(banyan_cmd("log", "-f", job_id), env=up.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline() == "one\n"  # before the job ends
        assert up.cat("scheduler", "jobs", job_id, "state") != "stopped\n"
        out, err = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    assert out == "two\n"


def test_wait_shows_progress_and_kill_of_a_running_job(up):
    job_id = ok(up, "submit", "--kill-grace", "1", "--shell", "--",
                'echo "40 copying inputs" > "$BANYAN_JOB_DIR/progress"; sleep 300').strip()
    wait_until(lambda: up.cat("scheduler", "jobs", job_id, "state") == "running\n", what="running")
    waiter = subprocess.Popen(banyan_cmd("submit", "--wait", "--request-id", job_id), env=up.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: up.cat("scheduler", "jobs", job_id, "progress"), timeout=15,
                   what="the progress to reach the scheduler")
        ok(up, "suspend", job_id)
        ok(up, "continue", job_id)
        ok(up, "kill", job_id)
        _, err = waiter.communicate(timeout=30)
    finally:
        waiter.kill()
    assert waiter.returncode == JOB_ERROR
    assert f"{job_id} running on local" in err
    assert f"{job_id} progress 40 copying inputs" in err
    assert f"{job_id} stopped: error (killed" in err


@pytest.mark.parametrize("server", ["serve", "processor"])
def test_a_server_stops_on_ctrl_c(tmp_path, server):
    """SIGINT (Ctrl-C in a terminal) ends `banyan serve` and `banyan processor` with 130."""
    import signal
    import urllib.error
    import urllib.request

    port = free_port()
    proc = subprocess.Popen(banyan_cmd("--state", str(tmp_path / "state"), server, "--listen",
                                       f"127.0.0.1:{port}"), stderr=subprocess.DEVNULL)
    try:
        def serving():  # any HTTP answer: past start-up, in the serving loop
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False
            return True

        wait_until(serving, timeout=20, what=f"{server} to answer")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_cron_pass_and_the_client_commands_load_no_server_code(tmp_path):
    """A `scheduler --once` from cron, or `banyan token list`, starts without bottle, cheroot
    or watchdog: they are for the servers and the daemon, and took a third of the start."""
    script = ("import sys; from banyan.cli.main import main; "
              f"assert main(['--state', {str(tmp_path / 'state')!r}, *sys.argv[1:]]) == 0; "
              "print(sorted(m for m in ('bottle', 'cheroot', 'watchdog') if m in sys.modules))")
    for command in (["scheduler", "--once"], ["token", "list"]):
        out = subprocess.run([sys.executable, "-c", script, *command], capture_output=True,
                             text=True, timeout=30, env=dict(os.environ, PYTHONPATH=ROOT))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().endswith("[]"), (command, out.stdout)
