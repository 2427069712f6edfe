"""Tokens and roles (SPEC §6): in-process for the policy, then a real `banyan serve` and curl."""

import base64
import json
import os
import subprocess
import time

import pytest
from conftest import ROOT, Up, banyan_cmd, curl, free_port, split_code, wait_until
from wsgi_client import call

from banyan.api import make_app
from banyan.scheduler.passes import Scheduler
from banyan.spool import Spool

JOB = {"commands": [{"exec": ["true"]}]}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_file_holds_role_and_sha256_only(spool):
    token = spool.tokens.create("alice", "user")
    path = os.path.join(spool.layout.tokens, "alice")
    role, digest = open(path).read().split()
    assert role == "user" and len(digest) == 64 and token not in open(path).read()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert spool.tokens.find(token) == ("alice", "user")
    assert spool.tokens.find(token + "x") is None
    spool.tokens.revoke("alice")
    assert spool.tokens.find(token) is None and not spool.tokens.any()


def test_open_on_loopback_only_while_no_token_exists(spool):
    app = make_app(spool)
    assert call(app, "GET", "/scheduler/jobs").code == 200
    remote = call(app, "GET", "/scheduler/jobs", headers={"X": "y"})
    assert remote.code == 200
    env_remote = call_from(app, "10.1.2.3", "GET", "/scheduler/jobs")
    assert env_remote.code == 401
    spool.tokens.create("alice", "user")
    r = call(app, "GET", "/scheduler/jobs")
    assert r.code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.body.count(b"\n") == 1 and "token" in r.json()["error"]
    assert call(app, "GET", "/no/such/route").code == 401


def test_a_token_made_or_revoked_counts_at_the_next_request_though_the_listing_is_kept(spool):
    """The API keeps the listing of auth/tokens/ while the folder is unchanged: a folder
    last changed long ago (its mtime set back, as after a quiet hour) must still show a
    token made, then revoked, at the very next request, through the same app."""
    app = make_app(spool)
    folder = spool.layout.tokens
    long_ago = time.time() - 3600
    os.utime(folder, (long_ago, long_ago))
    for _ in range(2):  # the second request is answered from the kept listing
        assert call(app, "GET", "/scheduler/jobs").code == 200
    token = spool.tokens.create("alice", "user")
    os.utime(folder, (time.time() - 3600, time.time() - 1800))  # later, yet long ago
    assert call(app, "GET", "/scheduler/jobs").code == 401
    assert call(app, "GET", "/scheduler/jobs", headers={"Authorization": f"Bearer {token}"}).code == 200
    spool.tokens.revoke("alice")
    os.utime(folder, (time.time() - 3600, time.time() - 900))
    assert call(app, "GET", "/scheduler/jobs").code == 200


def call_from(app, addr, method, path, **kw):
    """`call` with another REMOTE_ADDR (wsgi_client sets 127.0.0.1)."""
    def with_addr(environ, start_response):
        environ["REMOTE_ADDR"] = addr
        return app(environ, start_response)
    return call(with_addr, method, path, **kw)


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer nope-nope-nope-nope-nope", "Basic !!!", "Basic " + base64.b64encode(b"x").decode(),
    "Digest abc", "Bearer " + "x" * 5000, "Bearer \x01\x02", "",
])
def test_garbage_credentials_are_401_never_500(spool, header):
    spool.tokens.create("alice", "user")
    r = call(make_app(spool), "GET", "/scheduler/jobs", headers={"Authorization": header})
    assert r.code == 401, r.body
    assert set(r.json()) == {"error"}


def test_basic_with_token_as_user_name(spool):
    token = spool.tokens.create("alice", "user")
    app = make_app(spool)
    good = base64.b64encode(f"{token}:".encode()).decode()
    assert call(app, "GET", "/scheduler/jobs", headers={"Authorization": f"Basic {good}"}).code == 200
    with_pw = base64.b64encode(f"{token}:pw".encode()).decode()
    assert call(app, "GET", "/scheduler/jobs", headers={"Authorization": f"Basic {with_pw}"}).code == 401


def test_users_see_and_control_only_their_own_jobs(spool):
    alice = spool.tokens.create("alice", "user")
    bob = spool.tokens.create("bob", "user")
    admin = spool.tokens.create("root", "admin")
    app = make_app(spool)
    a1 = call(app, "POST", "/scheduler/jobs/new", JOB, headers=bearer(alice)).json()["request_id"]
    b1 = call(app, "POST", "/scheduler/jobs/new", JOB, headers=bearer(bob)).json()["request_id"]
    for when in ("incoming", "record"):
        listed = call(app, "GET", "/scheduler/jobs", headers=bearer(alice)).json()["jobs"]
        assert [j["id"] for j in listed] == [a1], when
        assert call(app, "GET", f"/scheduler/jobs/{a1}/status", headers=bearer(alice)).code == 200
        for path in (f"/scheduler/jobs/{b1}", f"/scheduler/jobs/{b1}/status", f"/scheduler/jobs/{b1}/log"):
            r = call(app, "GET", path, headers=bearer(alice))
            assert r.code == 403 and "another token" in r.json()["error"], (when, path)
        assert call(app, "POST", f"/scheduler/jobs/{b1}/kill", headers=bearer(alice)).code == 403
        everything = call(app, "GET", "/scheduler/jobs", headers=bearer(admin)).json()["jobs"]
        assert {j["id"] for j in everything} == {a1, b1}
        Scheduler(spool).run_pass()
    assert spool.jobs.get(a1, "owner") == "alice" and spool.jobs.get(b1, "owner") == "bob"
    assert call(app, "GET", f"/scheduler/jobs/{a1}", headers=bearer(alice)).json()["owner"] == "alice"
    assert call(app, "POST", f"/scheduler/jobs/{a1}/kill", headers=bearer(alice)).code == 200
    assert call(app, "POST", f"/scheduler/jobs/{b1}/kill", headers=bearer(admin)).code == 200
    assert call(app, "GET", "/scheduler/jobs/nosuch/status", headers=bearer(alice)).code == 404


def test_owner_cannot_be_forged_and_request_id_is_not_shared(spool):
    alice = spool.tokens.create("alice", "user")
    bob = spool.tokens.create("bob", "user")
    app = make_app(spool)
    forged = call(app, "POST", "/scheduler/jobs/new", dict(JOB, owner="bob"), headers=bearer(alice))
    assert forged.code == 400
    body = dict(JOB, request_id="nightly")
    assert call(app, "POST", "/scheduler/jobs/new", body, headers=bearer(alice)).code == 201
    assert call(app, "POST", "/scheduler/jobs/new", body, headers=bearer(alice)).code == 200
    assert call(app, "POST", "/scheduler/jobs/new", body, headers=bearer(bob)).code == 403


def test_roles_on_node_routes(spool):
    user = spool.tokens.create("alice", "user")
    node = spool.tokens.create("n1", "node")
    admin = spool.tokens.create("root", "admin")
    app = make_app(spool)
    reg = {"name": "n1", "uri": "http://127.0.0.1:9", "cores": 1}
    assert call(app, "POST", "/scheduler/nodes", reg, headers=bearer(user)).code == 403
    assert call(app, "POST", "/scheduler/nodes", reg, headers=bearer(node)).code == 201
    assert call(app, "GET", "/scheduler/nodes", headers=bearer(user)).code == 200
    report = {"jobs": []}
    assert call(app, "POST", "/scheduler/nodes/n1/report", report, headers=bearer(user)).code == 403
    assert call(app, "POST", "/scheduler/nodes/n1/report", report, headers=bearer(node)).code == 200
    assert call(app, "GET", "/scheduler/jobs", headers=bearer(node)).code == 403
    assert call(app, "POST", "/scheduler/jobs/new", JOB, headers=bearer(node)).code == 403
    assert call(app, "POST", "/scheduler/nodes/n1/drain", headers=bearer(user)).code == 403
    assert call(app, "DELETE", "/scheduler/nodes/n1", headers=bearer(admin)).code == 200


# --- a real `banyan serve`, driven by curl and the real CLI ---------------------------

class Serve:
    def __init__(self, state: str):
        self.state = state
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, BANYAN_STATE=state, BANYAN_URL=self.url,
                        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(banyan_cmd("serve", "--listen", f"127.0.0.1:{self.port}"),
                                     env=self.env, stderr=subprocess.PIPE)
        wait_until(lambda: split_code(curl(f"{self.url}/scheduler/nodes"))[1] in (200, 401),
                   timeout=20, what="banyan serve")

    def cli(self, *args, stdin=None) -> subprocess.CompletedProcess:
        return subprocess.run(banyan_cmd(*args), env=self.env, capture_output=True, text=True,
                              input=stdin, timeout=30)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def served(tmp_path):
    s = Serve(str(tmp_path / "state"))
    yield s
    s.stop()


def test_real_serve_with_tokens_bearer_and_basic(served):
    url = served.url
    assert split_code(curl(f"{url}/scheduler/jobs"))[1] == 200  # open: loopback, no token yet
    made = served.cli("token", "create", "alice", "--role", "user")
    assert made.returncode == 0, made.stderr
    alice = made.stdout.strip()
    admin = served.cli("token", "create", "root", "--role", "admin").stdout.strip()
    assert served.cli("token", "list").stdout.split("\n")[:2] == ["alice user", "root admin"]
    assert alice not in open(os.path.join(served.state, "auth", "tokens", "alice")).read()

    body, code = split_code(curl("-D", "-", f"{url}/scheduler/jobs"))
    assert code == 401 and "www-authenticate: bearer" in body.lower()
    assert json.loads(body.partition("\n\n")[2])["error"]
    body, code = split_code(curl("-H", f"Authorization: Bearer {alice}", "-X", "POST",
                                 "-d", "command=true", f"{url}/scheduler/jobs/new"))
    assert code == 201, body
    mine = json.loads(body)["request_id"]
    body, code = split_code(curl("-u", f"{admin}:", "-X", "POST", "-d", "command=true",
                                 f"{url}/scheduler/jobs/new"))
    assert code == 201, body
    theirs = json.loads(body)["request_id"]
    body, code = split_code(curl("-u", f"{alice}:", f"{url}/scheduler/jobs"))
    assert code == 200 and [j["id"] for j in json.loads(body)["jobs"]] == [mine]
    _, code = split_code(curl("-H", f"Authorization: Bearer {alice}", f"{url}/scheduler/jobs/{theirs}/status"))
    assert code == 403
    assert served.cli("scheduler", "--once").returncode == 0
    body, code = split_code(curl("-H", f"Authorization: Bearer {alice}", "-X", "POST",
                                 f"{url}/scheduler/jobs/{theirs}/kill"))
    assert code == 403 and json.loads(body)["error"]
    body, code = split_code(curl("-H", f"Authorization: Bearer {alice}", "-X", "POST",
                                 f"{url}/scheduler/jobs/{mine}/kill"))
    assert code == 200 and json.loads(body)["result"] == "cancelled"
    assert open(os.path.join(served.state, "scheduler", "jobs", mine, "owner")).read() == "alice\n"

    assert served.cli("token", "revoke", "alice").returncode == 0
    _, code = split_code(curl("-H", f"Authorization: Bearer {alice}", f"{url}/scheduler/jobs"))
    assert code == 401


def test_token_imported_from_stdin_works_in_a_second_state_folder(tmp_path, served):
    node = served.cli("token", "create", "n1", "--role", "node").stdout.strip()
    other = Serve(str(tmp_path / "other"))
    try:
        assert other.cli("token", "create", "n1", "--role", "node", "--stdin", stdin=node + "\n").returncode == 0
        _, code = split_code(curl("-H", f"Authorization: Bearer {node}", f"{other.url}/scheduler/nodes"))
        assert code == 200
    finally:
        other.stop()


@pytest.mark.parametrize("command", ["serve", "up", "processor"])
def test_refuses_a_non_loopback_address_without_tokens(tmp_path, command):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(banyan_cmd("--state", str(tmp_path / "s"), command, "--listen",
                                    f"0.0.0.0:{free_port()}"),
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "token create" in out.stderr and "refusing" in out.stderr


class TokenUp(Up):
    """`banyan up` over a state folder that has tokens: every request carries the admin's."""

    def __init__(self, state: str, admin: str):
        self.admin = admin
        super().__init__(state, free_port())

    def answers(self) -> bool:
        assert self.proc.poll() is None, f"banyan up exited with {self.proc.returncode}"
        body, code = split_code(curl("-H", f"Authorization: Bearer {self.admin}",
                                     f"{self.url}/scheduler/nodes"))
        return code == 200 and '"local"' in body


def test_up_with_tokens_runs_a_users_job_end_to_end(tmp_path):
    state = str(tmp_path / "state")
    spool = Spool(state)
    admin = spool.tokens.create("root", "admin")
    alice = spool.tokens.create("alice", "user")
    up = TokenUp(state, admin)
    try:
        auth = ("-H", f"Authorization: Bearer {alice}")
        body, code = split_code(curl(*auth, "-X", "POST", "-H", "Content-Type: application/json", "-d",
                                     '{"commands": [{"exec": ["echo", "hello"]}]}',
                                     f"{up.url}/scheduler/jobs/new"))
        assert code == 201, body
        job_id = json.loads(body)["request_id"]

        def stopped():
            b, c = split_code(curl(*auth, f"{up.url}/scheduler/jobs/{job_id}/status"))
            return c == 200 and json.loads(b)["state"] == "stopped" and json.loads(b)
        assert wait_until(stopped, timeout=30, what="the job to stop")["status"] == "good"
        body, code = split_code(curl(*auth, f"{up.url}/scheduler/jobs/{job_id}/log"))
        assert code == 200 and body == "hello\n"  # the API fetched it from the node with its node token
        assert spool.tokens.find(alice) == ("alice", "user")
        assert ("up-local", "node") in [(n, r) for n, r, _ in spool.tokens.entries()]
        node_uri = open(os.path.join(state, "scheduler", "nodes", "local", "uri")).read().strip()
        _, code = split_code(curl(*auth, f"{node_uri}/processor/health"))
        assert code == 403  # users never talk to a processor
        _, code = split_code(curl(f"{node_uri}/processor/health"))
        assert code == 401
        _, code = split_code(curl("-H", f"Authorization: Bearer {admin}", f"{node_uri}/processor/health"))
        assert code == 200
    finally:
        up.stop()
