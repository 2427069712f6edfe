"""DAG requests in-process (the real app and scheduler pass, no node): validation, cycles,
arrays' syntax, graphs readable at once, children of killed jobs, crash recovery."""

import json
import os

import pytest
from wsgi_client import call

from banyan import arrays
from banyan.errors import BadRequest
from banyan.scheduler import lifecycle
from banyan.scheduler.passes import Scheduler
from banyan.states import Result

JOB = {"commands": [{"exec": ["true"]}]}


def post(app, body, want=201):
    r = call(app, "POST", "/scheduler/jobs/new", body)
    assert r.code == want, r.body
    return r.json()


@pytest.mark.parametrize("spec, indexes, limit", [
    ("1-5", [1, 2, 3, 4, 5], None),
    ("1,3,5-7", [1, 3, 5, 6, 7], None),
    ("0-15:4%2", [0, 4, 8, 12], 2),
    ("3,1,3", [1, 3], None),
    ("1-100%10", list(range(1, 101)), 10),
])
def test_array_syntax_is_slurms(spec, indexes, limit):
    assert arrays.parse(spec) == (indexes, limit)


@pytest.mark.parametrize("spec", ["", "1-", "5-1", "1-10%0", "a", "1-3%x", "1:2", "٣", "0-99999"])
def test_bad_array_specs_are_refused(spec):
    with pytest.raises(BadRequest):
        arrays.parse(spec)


def test_unknown_dependency_and_cycles_are_400_and_write_nothing(app, spool):
    assert "no job nosuch" in post(app, dict(JOB, depends_on=["nosuch"]), 400)["error"]
    assert "itself" in post(app, dict(JOB, request_id="me", depends_on=["me"]), 400)["error"]
    # a dropped file, not yet taken, waits on "a": submitting "a" after "b" would close a loop
    with open(spool.layout.incoming_file("b"), "w") as f:
        json.dump(dict(JOB, depends_on=["a"]), f)
    assert "cycle" in post(app, dict(JOB, request_id="a", depends_on=["b"]), 400)["error"]
    graph = {"jobs": {"x": dict(JOB, depends_on=["z"]), "y": dict(JOB, depends_on=["x"]),
                      "z": dict(JOB, depends_on=["y"])}}
    assert "cycle among x, y, z" in post(app, graph, 400)["error"]
    twice = {"jobs": {"s": dict(JOB, array="1-3"), "s.2": JOB}}
    assert "both be" in post(app, twice, 400)["error"]
    assert spool.incoming.ids() == ["b"] and spool.jobs.ids() == [] and os.listdir(spool.layout.tmp) == []


def test_a_graph_is_one_file_readable_at_once_then_expanded_whole(app, spool):
    answer = post(app, {"request_id": "nightly", "jobs": {"get": JOB, "use": dict(JOB, depends_on=["get"])}})
    assert answer == {"request_id": "nightly", "jobs": {"get": "nightly.get", "use": "nightly.use"}}
    assert spool.incoming.ids() == ["nightly"]
    member = call(app, "GET", "/scheduler/jobs/nightly.use/status").json()
    assert (member["state"], member["name"]) == ("incoming", "use")
    walk = call(app, "GET", "/scheduler/jobs/nightly.use/dag").json()
    assert walk["state"] == "incoming" and [j["id"] for j in walk["dependencies"]] == ["nightly.get"]
    assert post(app, {"jobs": {"other": dict(JOB, depends_on=["nightly.get"])}})["jobs"]
    taken = Scheduler(spool).run_pass().taken
    assert taken[:3] == ["nightly.get", "nightly.use", "nightly"]
    assert [spool.jobs.get(j, "state") for j in taken[:3]] == ["queued", "waiting", "waiting"]
    assert spool.jobs.lines("nightly", "children") == ["nightly.get", "nightly.use"]
    assert spool.jobs.lines("nightly.get", "dependents")[0] == "nightly.use"
    assert post(app, {"request_id": "nightly", "jobs": {"get": JOB}}, 200)["request_id"] == "nightly"
    post(app, dict(JOB, request_id="x.a"))
    assert "job x.a exists already" in post(app, {"request_id": "x", "jobs": {"a": JOB}}, 400)["error"]


def test_a_graph_file_dropped_in_incoming_is_taken_like_a_posted_one(spool):
    with open(spool.layout.incoming_file("g1"), "w") as f:
        json.dump({"jobs": {"a": JOB, "b": dict(JOB, array="1-3", depends_on=["a"])}}, f)
    taken = Scheduler(spool).run_pass().taken
    assert taken == ["g1.a", "g1.b.1", "g1.b.2", "g1.b.3", "g1.b", "g1"]
    assert spool.jobs.request("g1.b.2")["environment"]["BANYAN_ARRAY_INDEX"] == "2"
    assert spool.jobs.lines("g1.b", "depends-on") == ["g1.b.1", "g1.b.2", "g1.b.3"]
    assert spool.jobs.get("g1.b.1", "parent") == "g1.b" and spool.jobs.get("g1.b", "parent") == "g1"


def test_killing_a_group_cancels_its_pending_jobs_and_later_children(app, spool):
    gid = post(app, {"jobs": {"a": JOB, "b": dict(JOB, depends_on=["a"])}})["request_id"]
    Scheduler(spool).run_pass()  # no node: a stays queued, b waiting
    rec = call(app, "POST", f"/scheduler/jobs/{gid}/kill").json()
    assert (rec["state"], rec["result"]) == ("stopped", "cancelled")
    for job in (f"{gid}.a", f"{gid}.b"):
        assert spool.jobs.get(job, "result") == "cancelled"
    assert os.listdir(spool.layout.queue) == []
    late = post(app, dict(JOB, parent=gid))["request_id"]  # a child that arrives after the kill
    Scheduler(spool).run_pass()
    assert spool.jobs.get(late, "result") == "cancelled"
    assert any(f"parent {gid} was killed" in e for e in spool.jobs.record(late)["events"])


def test_a_stop_cut_short_by_a_crash_is_finished_by_the_next_pass(app, spool):
    first = post(app, JOB)["request_id"]
    Scheduler(spool).run_pass()
    second = post(app, dict(JOB, depends_on=[first]))["request_id"]
    Scheduler(spool).run_pass()
    lifecycle._record_stop(spool, first, Result.SUCCESS, "", 0.0, 0)  # the crash: no judging after
    assert os.listdir(spool.layout.releasing) == [first]
    assert spool.jobs.get(second, "state") == "waiting"
    Scheduler(spool).run_pass()
    assert spool.jobs.get(second, "state") == "queued"
    assert os.listdir(spool.layout.releasing) == []


def test_a_long_chain_cancels_without_recursion(app, spool):
    ids = post(app, {"jobs": {f"n{i}": dict(JOB, depends_on=[f"n{i - 1}"] if i else [])
                              for i in range(600)}})["jobs"]
    Scheduler(spool).run_pass()
    call(app, "POST", f"/scheduler/jobs/{ids['n0']}/kill")
    assert spool.jobs.get(ids["n599"], "result") == "cancelled"
