"""bin/banyan.cgi behind a real busybox httpd and a real nginx + fcgiwrap, driven by curl."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, banyan_cmd, curl, need, split_code
from frontends import CGI, Busybox, Nginx

from banyan.spool import Spool


def run_pass(state: str) -> None:
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(banyan_cmd("--state", state, "scheduler", "--once"), env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


@pytest.fixture(params=["busybox", "nginx"])
def front(request, tmp_path):
    state = str(tmp_path / "state")
    Spool(state)
    if request.param == "busybox":
        need("busybox")
        server = Busybox(str(tmp_path), state)
    else:
        need("nginx")
        need("fcgiwrap")
        server = Nginx(str(tmp_path), state)
    server.state = state
    server.kind = request.param
    yield server
    server.stop()


def test_submit_status_list_kill_log_through_cgi(front):
    base = front.base
    body, code = split_code(curl("-D", "-", "-X", "POST", "-H", "Content-Type: application/json",
                                 "-d", '{"name": "cgi-job", "commands": [{"exec": ["echo", "hi"]}]}',
                                 f"{base}/scheduler/jobs/new"))
    assert code == 201, body
    headers, _, payload = body.partition("\n\n")
    job_id = json.loads(payload)["request_id"]
    assert f"location: /scheduler/jobs/{job_id}" in headers.lower()
    assert os.path.exists(os.path.join(front.state, "incoming", f"{job_id}.job"))

    body, code = split_code(curl(f"{base}/scheduler/jobs/{job_id}/status"))
    assert code == 200 and json.loads(body)["state"] == "incoming"
    run_pass(front.state)  # no node registered: the job stays queued
    body, code = split_code(curl(f"{base}/scheduler/jobs/{job_id}/status?format=text"))
    assert code == 200 and "state queued" in body.splitlines()
    body, code = split_code(curl(f"{base}/scheduler/jobs?name=cgi-job"))
    assert code == 200 and [j["id"] for j in json.loads(body)["jobs"]] == [job_id]
    body, code = split_code(curl(f"{base}/scheduler/jobs/{job_id}/log"))
    assert code == 200 and body == ""
    body, code = split_code(curl("-X", "POST", f"{base}/scheduler/jobs/{job_id}/kill"))
    assert code == 200 and json.loads(body)["result"] == "cancelled", body
    assert open(os.path.join(front.state, "scheduler", "jobs", job_id, "result")).read() == "cancelled\n"
    form, code = split_code(curl("-X", "POST", "-d", 'command=echo "a b"', f"{base}/scheduler/jobs/new"))
    assert code == 201, form


def test_errors_are_one_line_json_through_cgi(front, tmp_path):
    base = front.base
    for args, want in [((f"{base}/scheduler/jobs/nosuch",), 404),
                       ((f"{base}/scheduler/jobs/bad%20id",), 400),
                       ((f"{base}/nowhere",), 404),
                       (("-X", "POST", "-d", "{not json", f"{base}/scheduler/jobs/new"), 400),
                       (("-X", "DELETE", f"{base}/scheduler/jobs"), 405)]:
        body, code = split_code(curl(*args))
        assert code == want, (args, body)
        assert body.count("\n") == 1 and "error" in json.loads(body), body
    # both servers decode and resolve `..` before the CGI sees the path: busybox answers its
    # own 404 page, nginx passes on /etc, which is no route of ours
    body, code = split_code(curl(f"{base}/scheduler/jobs/..%2f..%2fetc"))
    assert code == 404, body
    big = tmp_path / "big.json"
    big.write_text("x" * (2 << 20))
    body, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json",
                                 "--data-binary", f"@{big}", f"{base}/scheduler/jobs/new"))
    assert code == 413 and json.loads(body)["error"]
    assert os.listdir(os.path.join(front.state, "incoming")) == []
    assert os.listdir(os.path.join(front.state, "tmp")) == []


def test_tokens_through_cgi_bearer_works_basic_depends_on_the_server(front):
    spool = Spool(front.state)
    alice = spool.tokens.create("alice", "user")
    base = front.base
    body, code = split_code(curl(f"{base}/scheduler/jobs"))
    assert code == 401 and "Bearer" in json.loads(body)["error"]
    body, code = split_code(curl("-H", f"Authorization: Bearer {alice}", f"{base}/scheduler/jobs"))
    assert code == 200, body
    body, code = split_code(curl("-u", f"{alice}:", f"{base}/scheduler/jobs"))
    # busybox httpd keeps Basic for itself (RELIABILITY §3.3): the CGI never sees it
    assert code == (401 if front.kind == "busybox" else 200), body


def test_proxy_header_does_not_reach_the_environment(front, tmp_path):
    """httpoxy: a `Proxy:` header becomes HTTP_PROXY; the CGI drops it before any code runs."""
    body, code = split_code(curl("-H", "Proxy: http://127.0.0.1:9", f"{front.base}/scheduler/jobs"))
    assert code == 200, body


def test_status_path_imports_no_scheduler_psutil_watchdog_or_submission_code(tmp_path):
    state = str(tmp_path / "state")
    spool = Spool(state)
    spool.incoming.submit("j1", b'{"commands": []}')
    env = {"PATH": os.environ["PATH"], "REQUEST_METHOD": "GET", "PATH_INFO": "/scheduler/jobs/j1/status",
           "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "BANYAN_STATE": state}
    out = subprocess.run([sys.executable, "-X", "importtime", CGI], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.startswith("Status: 200"), out.stdout + out.stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    for heavy in ("psutil", "watchdog", "cheroot", "banyan.scheduler", "banyan.processor",
                  "banyan.api.submit", "banyan.graph", "banyan.bundle", "tarfile"):
        assert not any(m == heavy or m.startswith(heavy + ".") for m in loaded), heavy


def test_missing_state_folder_is_a_json_500_not_a_cold_start(tmp_path):
    env = {"PATH": os.environ["PATH"], "REQUEST_METHOD": "GET", "PATH_INFO": "/scheduler/jobs",
           "REMOTE_ADDR": "127.0.0.1", "BANYAN_STATE": str(tmp_path / "absent")}
    out = subprocess.run([sys.executable, CGI], env=env, capture_output=True, text=True, timeout=60)
    head, _, body = out.stdout.partition("\n\n")
    assert head.startswith("Status: 500") and "does not exist" in json.loads(body)["error"]
    assert not os.path.exists(tmp_path / "absent")
