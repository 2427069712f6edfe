"""A real `banyan up` driven by real curl and the real CLI, checked with `cat` as a user would."""

import json
import os
import re
import shutil
import time

import psutil
from conftest import alive, curl, split_code, wait_until

ECHO = '{"commands":[{"exec":["echo","hi"]}]}'


def submit_json(up, body: str) -> str:
    out = curl("-X", "POST", "-H", "Content-Type: application/json", "-d", body, "-D", "-",
               f"{up.url}/scheduler/jobs/new")
    text, code = split_code(out)
    assert code == 201, out.stdout
    headers, payload = re.split(r"\r?\n\r?\n", text, maxsplit=1)
    job_id = json.loads(payload)["request_id"]
    assert f"Location: /scheduler/jobs/{job_id}" in headers
    return job_id


def status(up, job_id: str) -> dict:
    body, code = split_code(curl(f"{up.url}/scheduler/jobs/{job_id}/status"))
    assert code == 200, body
    return json.loads(body)


def stopped(up, job_id: str, timeout: float = 15) -> dict:
    return wait_until(lambda: (s := status(up, job_id))["state"] == "stopped" and s,
                      timeout=timeout, what=f"job {job_id} to stop")


def test_echo_job_with_curl_then_cat(up):
    job_id = submit_json(up, ECHO)
    t0 = time.monotonic()
    st = stopped(up, job_id, timeout=10)
    assert time.monotonic() - t0 < 5
    assert (st["state"], st["status"], st["result"], st["node"]) == ("stopped", "good", "success", "local")
    assert up.cat("scheduler", "jobs", job_id, "state") == "stopped\n"
    assert up.cat("scheduler", "jobs", job_id, "exit-status") == "0\n"
    assert up.cat("processor", "job", job_id, "log") == "hi\n"
    assert up.cat("processor", "job", job_id, "state") == "stopped\n"
    peak, cpu = up.cat("processor", "job", job_id, "usage").split()
    assert int(peak) >= 0 and float(cpu) >= 0
    events = up.cat("scheduler", "jobs", job_id, "events")
    assert [line.split()[1] for line in events.splitlines()] == ["submitted", "starting", "running", "success"]
    assert os.listdir(up.path("scheduler", "running")) == []
    assert os.listdir(up.path("scheduler", "queue")) == []


def test_form_post_is_split_like_sh_and_run_without_one(up):
    out = curl("-X", "POST", "-d", 'command=echo "a b" $HOME;x', f"{up.url}/scheduler/jobs/new")
    body, code = split_code(out)
    assert code == 201, body
    job_id = json.loads(body)["request_id"]
    assert stopped(up, job_id)["status"] == "good"
    assert up.cat("processor", "job", job_id, "log") == "a b $HOME;x\n"


def test_cli_submit_wait_status_list_log(up):
    out = up.cli("submit", "--wait", "--name", "greet", "--", "sh", "-c", "echo hello; echo err >&2")
    job_id = out.stdout.strip().splitlines()[0]
    assert up.cat("scheduler", "jobs", job_id, "result") == "success\n"
    assert "hello" in up.cli("log", job_id).stdout
    assert "stopped" in up.cli("status", job_id).stdout
    assert job_id in up.cli("list").stdout
    failed = up.cli("submit", "--wait", "--", "false", check=False)
    assert failed.returncode == 1


def test_file_moved_into_incoming_runs(up, tmp_path):
    draft = tmp_path / "draft.job"
    draft.write_text(json.dumps({"commands": [{"shell": "echo dropped > out.txt"}]}))
    shutil.move(str(draft), up.path("incoming", "dropped-1.job"))
    st = stopped(up, "dropped-1")
    assert st["status"] == "good"
    assert up.cat("processor", "job", "dropped-1", "work", "out.txt") == "dropped\n"


def test_bad_file_in_incoming_is_rejected_with_reason(up, tmp_path):
    draft = tmp_path / "bad.job"
    draft.write_text('{"commands": "not a list"}')
    shutil.move(str(draft), up.path("incoming", "bad-1.job"))
    wait_until(lambda: up.cat("rejected", "bad-1.reason"), what="rejection")
    assert "commands must be a list" in up.cat("rejected", "bad-1.reason")
    body, code = split_code(curl(f"{up.url}/scheduler/jobs/bad-1"))
    assert code == 404 and "rejected" in body


def test_failures_environment_and_missing_program(up):
    job_id = submit_json(up, json.dumps({
        "commands": [{"exec": ["sh", "-c", 'echo "$GREETING $BANYAN_JOB_ID"']},
                     {"exec": ["no-such-program-xyz"]}, {"exec": ["echo", "never"]}],
        "environment": {"GREETING": "hello"}}))
    st = stopped(up, job_id)
    assert (st["status"], st["result"], st["exit-status"]) == ("error", "failure", 127)
    log = up.cat("processor", "job", job_id, "log")
    assert log.splitlines()[0] == f"hello {job_id}"
    assert "cannot run 'no-such-program-xyz'" in log and "never" not in log


def test_kill_a_running_job_kills_its_whole_tree(up):
    job_id = submit_json(up, json.dumps({"commands": [{"shell": "sleep 300 & sleep 300; wait"}],
                                         "kill_grace": 2}))
    wait_until(lambda: status(up, job_id)["state"] == "running", what="running")
    pid = int(wait_until(lambda: up.cat("processor", "job", job_id, "pid"), what="pid"))
    tree = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    out = up.cli("kill", job_id)
    assert out.returncode == 0
    st = stopped(up, job_id)
    assert (st["status"], st["result"]) == ("error", "killed")
    assert not [p for p in tree if alive(p)]


def test_progress_reported_by_file_reaches_the_record(up):
    job_id = submit_json(up, json.dumps({"commands": [{"shell":
        'echo "40 copying inputs" > "$BANYAN_JOB_DIR/progress"; sleep 3'}]}))
    wait_until(lambda: up.cat("processor", "job", job_id, "progress"), what="progress file")
    curl("-X", "POST", f"{up.url}/scheduler/jobs/{job_id}/update")
    assert status(up, job_id)["progress"] == "40 copying inputs"
    assert up.cat("scheduler", "jobs", job_id, "progress") == "40 copying inputs\n"


def test_job_no_node_could_ever_fit_stays_queued_with_reason(up):
    job_id = submit_json(up, json.dumps({"commands": [{"exec": ["true"]}],
                                         "resources": {"cores": 4096}}))
    wait_until(lambda: "unplaceable" in (up.cat("scheduler", "jobs", job_id, "events") or ""),
               what="unplaceable event")
    assert status(up, job_id)["state"] == "queued"
    ok = submit_json(up, ECHO)
    assert stopped(up, ok)["status"] == "good"  # a job that cannot fit does not block others


def test_bad_input_over_http_leaves_nothing(up, tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"name": "' + "x" * (2 << 20) + '"}')
    cases = [
        (["-H", "Content-Type: application/json", "--data-binary", f"@{big}"], 413),
        (["-H", "Content-Type: application/json", "-d", "{oops"], 400),
        (["-H", "Content-Type: application/json", "-d", '{"request_id": "../../x"}'], 400),
        (["-H", "Content-Type: application/json", "-d", '{"bogus": 1}'], 400),
    ]
    for args, want in cases:
        body, code = split_code(curl("-X", "POST", *args, f"{up.url}/scheduler/jobs/new"))
        assert code == want and "error" in json.loads(body)
    body, code = split_code(curl("--path-as-is", f"{up.url}/scheduler/jobs/../../etc/passwd"))
    assert code in (400, 404) and "error" in json.loads(body)
    body, code = split_code(curl(f"{up.url}/scheduler/jobs/..%2f..%2fetc/status"))
    assert code == 400 and "error" in json.loads(body)
    body, code = split_code(curl("-X", "DELETE", f"{up.url}/scheduler/jobs"))
    assert code == 405 and "error" in json.loads(body)
    assert os.listdir(up.path("incoming")) == [] and os.listdir(up.path("scheduler", "jobs")) == []
