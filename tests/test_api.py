"""The scheduler API in-process: validation, errors, idempotency, listings (no processor needed)."""

import json
import os

import pytest
from wsgi_client import call

from banyan.scheduler.passes import Scheduler
from banyan.spool import Spool

JOB = {"commands": [{"exec": ["echo", "hi"]}]}


def assert_no_partial(spool: Spool, jobs: int = 0) -> None:
    """Nothing half written: tmp/ is empty and no request or record appeared."""
    assert os.listdir(spool.layout.tmp) == []
    assert len(spool.incoming.ids()) + len(spool.jobs.ids()) == jobs


def error_of(resp, code):
    assert resp.code == code, resp.body
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.body.count(b"\n") == 1
    return resp.json()["error"]


def test_submit_answers_201_with_location_and_is_readable_at_once(app, spool):
    r = call(app, "POST", "/scheduler/jobs/new", JOB)
    assert r.code == 201
    job_id = r.json()["request_id"]
    assert r.headers["location"] == f"/scheduler/jobs/{job_id}"
    status = call(app, "GET", f"/scheduler/jobs/{job_id}/status").json()
    assert status["state"] == "incoming" and status["status"] == "unknown"
    assert spool.incoming.ids() == [job_id]


def test_ids_sort_in_submission_order(app):
    ids = [call(app, "POST", "/scheduler/jobs/new", JOB).json()["request_id"] for _ in range(20)]
    assert ids == sorted(ids)


def test_repeated_request_id_makes_no_second_job(app, spool):
    body = dict(JOB, request_id="nightly-1")
    assert call(app, "POST", "/scheduler/jobs/new", body).code == 201
    Scheduler(spool).run_pass()
    again = call(app, "POST", "/scheduler/jobs/new", body)
    assert again.code == 200 and again.json() == {"request_id": "nightly-1"}
    assert spool.jobs.ids() == ["nightly-1"] and spool.incoming.ids() == []


def test_form_post_is_split_like_a_shell_and_run_without_one(app, spool):
    r = call(app, "POST", "/scheduler/jobs/new", 'command=echo "a b" $(id) ;x',
             "application/x-www-form-urlencoded")
    assert r.code == 201
    req = json.loads(spool.incoming.read(r.json()["request_id"]))
    assert req["commands"] == [{"exec": ["echo", "a b", "$(id)", ";x"]}]


@pytest.mark.parametrize("body, ctype, code, words", [
    (b"{not json", "application/json", 400, "malformed JSON"),
    (b'{"commands": [{"exec": ["true"]}], "colour": "red"}', "application/json", 400, "unknown field"),
    (b'{"commands": "true"}', "application/json", 400, "commands must be a list"),
    (b'{"priority": "high"}', "application/json", 400, "priority must be a number"),
    (b'{"timeout": NaN}', "application/json", 400, "malformed JSON"),
    (b'{"request_id": "../etc"}', "application/json", 400, "invalid request_id"),
    (b'{"request_id": "a/b"}', "application/json", 400, "invalid request_id"),
    (b'{"depends_on": ["nosuchjob"]}', "application/json", 400, "no job nosuchjob"),
    (b'{"environment": {"BAD-NAME": "x"}}', "application/json", 400, "not a valid variable"),
    (b'[' * 100000, "application/json", 400, "malformed JSON"),
    (b'command=echo "unclosed', "application/x-www-form-urlencoded", 400, "cannot split"),
    (b"x" * (2 << 20), "application/json", 413, "over the limit"),
])
def test_bad_requests_get_one_line_errors_and_leave_nothing(app, spool, body, ctype, code, words):
    assert words in error_of(call(app, "POST", "/scheduler/jobs/new", body, ctype), code)
    assert_no_partial(spool)


@pytest.mark.parametrize("method, path, code", [
    ("GET", "/scheduler/jobs/..%2f..%2fetc/status", 400),
    ("GET", "/scheduler/jobs/..", 400),
    ("POST", "/scheduler/jobs/a%2f..%2fb/kill", 400),
    ("GET", "/scheduler/jobs/nosuch", 404),
    ("GET", "/no/such/route", 404),
    ("DELETE", "/scheduler/jobs/new", 405),
    ("PUT", "/scheduler/jobs", 405),
    ("DELETE", "/scheduler/nodes/nosuch", 404),
])
def test_bad_paths_and_methods_answer_json(app, spool, method, path, code):
    error_of(call(app, method, path), code)
    assert_no_partial(spool)


def test_listing_filters_pages_and_text(app, spool):
    ids = [call(app, "POST", "/scheduler/jobs/new", dict(JOB, name=f"n{i % 2}")).json()["request_id"]
           for i in range(5)]
    Scheduler(spool).run_pass()
    jobs = call(app, "GET", "/scheduler/jobs").json()["jobs"]
    assert [j["id"] for j in jobs] == ids
    assert set(jobs[0]) >= {"id", "name", "state", "status", "result", "node", "created-at"}
    assert [j["id"] for j in call(app, "GET", "/scheduler/jobs?name=n1").json()["jobs"]] == ids[1::2]
    page = call(app, "GET", f"/scheduler/jobs?after={ids[1]}&limit=2").json()["jobs"]
    assert [j["id"] for j in page] == ids[2:4]
    assert call(app, "GET", "/scheduler/jobs?state=running").json()["jobs"] == []
    text = call(app, "GET", "/scheduler/jobs?format=text")
    assert text.headers["content-type"].startswith("text/plain")
    lines = text.body.decode().splitlines()
    assert [line.split()[0] for line in lines] == ids and lines[0].split()[2] == "queued"
    one = call(app, "GET", f"/scheduler/jobs/{ids[0]}/status?format=text").body.decode()
    assert f"id {ids[0]}" in one.splitlines() and "state queued" in one.splitlines()
    error_of(call(app, "GET", "/scheduler/jobs?limit=many"), 400)


def test_kill_cancels_a_queued_job_and_its_dependents(app, spool):
    first = call(app, "POST", "/scheduler/jobs/new", JOB).json()["request_id"]
    Scheduler(spool).run_pass()
    second = call(app, "POST", "/scheduler/jobs/new", dict(JOB, depends_on=[first])).json()["request_id"]
    Scheduler(spool).run_pass()
    assert spool.jobs.get(second, "state") == "waiting"
    rec = call(app, "POST", f"/scheduler/jobs/{first}/kill").json()
    assert (rec["state"], rec["status"], rec["result"]) == ("stopped", "error", "cancelled")
    assert spool.jobs.get(second, "result") == "cancelled"
    assert any("dependency" in line for line in spool.jobs.record(second)["events"])
    again = call(app, "POST", f"/scheduler/jobs/{first}/kill")
    assert again.code == 200 and again.json()["result"] == "cancelled"
    assert os.listdir(spool.layout.queue) == []


def test_nodes_register_drain_remove(app, spool):
    node = {"name": "n1", "uri": "http://127.0.0.1:9", "cores": 4, "memory": "2 GiB",
            "labels": ["gpu", "big"]}
    assert call(app, "POST", "/scheduler/nodes", node).code == 201
    listed = call(app, "GET", "/scheduler/nodes").json()["nodes"]
    assert listed[0]["memory"] == 2 << 30 and listed[0]["labels"] == ["gpu", "big"]
    assert [n["name"] for n in call(app, "GET", "/scheduler/nodes/available?cores=4").json()["nodes"]] == ["n1"]
    assert call(app, "GET", "/scheduler/nodes/available?cores=5").json()["nodes"] == []
    assert call(app, "POST", "/scheduler/nodes/n1/drain").json()["state"] == "draining"
    assert call(app, "GET", "/scheduler/nodes/available").json()["nodes"] == []
    assert call(app, "DELETE", "/scheduler/nodes/n1").code == 200
    assert call(app, "GET", "/scheduler/nodes").json()["nodes"] == []
    error_of(call(app, "POST", "/scheduler/nodes", dict(node, uri="file:///etc/passwd")), 400)
    error_of(call(app, "POST", "/scheduler/nodes", dict(node, name="../n")), 400)


def test_stats_shape(app):
    call(app, "POST", "/scheduler/jobs/new", JOB)
    stats = call(app, "GET", "/scheduler/stats").json()
    assert stats["by_state"]["incoming"] == 1
    assert set(stats) >= {"by_state", "by_node", "jobs_per_second", "queue_wait"}


def test_a_group_stops_good_without_a_node_once_its_dependencies_have(app, spool):
    alone = call(app, "POST", "/scheduler/jobs/new", {"name": "barrier"}).json()["request_id"]
    Scheduler(spool).run_pass()
    assert (spool.jobs.get(alone, "state"), spool.jobs.get(alone, "result")) == ("stopped", "success")
    first = call(app, "POST", "/scheduler/jobs/new", JOB).json()["request_id"]
    group = call(app, "POST", "/scheduler/jobs/new", {"depends_on": [first]}).json()["request_id"]
    Scheduler(spool).run_pass()
    assert spool.jobs.get(group, "state") == "waiting" and spool.jobs.get(first, "state") == "queued"


def test_hold_and_release_a_queued_job(app, spool):
    job_id = call(app, "POST", "/scheduler/jobs/new", JOB).json()["request_id"]
    Scheduler(spool).run_pass()
    assert call(app, "POST", f"/scheduler/jobs/{job_id}/hold").json()["state"] == "held"
    assert os.listdir(spool.layout.queue) == []
    error_of(call(app, "POST", f"/scheduler/jobs/{job_id}/hold"), 409)
    error_of(call(app, "POST", f"/scheduler/jobs/{job_id}/suspend"), 409)
    assert call(app, "POST", f"/scheduler/jobs/{job_id}/release").json()["state"] == "queued"
    assert [j for _, j in spool.index.queued()] == [job_id]
    error_of(call(app, "POST", f"/scheduler/jobs/{job_id}/release"), 409)


def test_routes_added_after_the_first_request_are_routed():
    """The app compiles its route patterns at the first match (web._Router), not at each
    route added; a route added later must still be found, and the earlier ones kept."""
    from banyan import web

    app = web.new_app()
    app.get("/a/<x>")(lambda x: {"a": x})
    assert call(app, "GET", "/a/1").json() == {"a": "1"}
    app.get("/b/<x>")(lambda x: {"b": x})
    assert call(app, "GET", "/b/2").json() == {"b": "2"}
    assert call(app, "GET", "/a/3").json() == {"a": "3"}
    assert call(app, "GET", "/c/4").code == 404
