"""DAGs on a real `banyan up`: dependencies, cascades, groups, graphs, children, arrays, the walk."""

import json
import os
import subprocess

from conftest import curl, need, split_code, wait_until

from banyan.dag_dot import to_dot


def post(up, body: dict | str, want: int = 201) -> dict:
    data = body if isinstance(body, str) else json.dumps(body)
    text, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json", "-d", data,
                                 f"{up.url}/scheduler/jobs/new"))
    assert code == want, text
    return json.loads(text)


def new(up, body: dict) -> str:
    return post(up, body)["request_id"]


def get(up, path: str) -> dict:
    text, code = split_code(curl(f"{up.url}/scheduler/jobs/{path}"))
    assert code == 200, text
    return json.loads(text)


def stopped(up, job_id: str, timeout: float = 20) -> dict:
    return wait_until(lambda: (s := get(up, f"{job_id}/status"))["state"] == "stopped" and s,
                      timeout=timeout, what=f"job {job_id} to stop")


def state(up, job_id: str) -> str:
    return get(up, f"{job_id}/status")["state"]


def kill(up, job_id: str) -> dict:
    text, code = split_code(curl("-X", "POST", f"{up.url}/scheduler/jobs/{job_id}/kill"))
    assert code == 200, text
    return json.loads(text)


def events(up, job_id: str) -> str:
    return up.cat("scheduler", "jobs", job_id, "events")


def sh(script: str) -> dict:
    return {"commands": [{"shell": script}]}


def test_failure_cascades_three_levels_with_reasons(up):
    a = new(up, sh("sleep 1; false"))
    b = new(up, dict(sh("true"), depends_on=[a]))
    c = new(up, dict(sh("true"), depends_on=[b]))
    d = new(up, dict(sh("true"), depends_on=[c]))
    assert state(up, d) in ("incoming", "waiting")
    assert stopped(up, a)["result"] == "failure"
    for job, upstream in ((b, a), (c, b), (d, c)):
        st = stopped(up, job)
        assert (st["status"], st["result"]) == ("error", "cancelled")
        assert f"cancelled dependency {upstream} stopped with error" in events(up, job)
        assert up.cat("processor", "job", job, "state") is None  # never ran
    assert up.cat("scheduler", "jobs", a, "dependents") == b + "\n"


def test_kill_cascades_three_levels_and_killing_a_waiting_job_cancels_below_it(up):
    a = new(up, sh("sleep 60"))
    b = new(up, dict(sh("true"), depends_on=[a]))
    c = new(up, dict(sh("true"), depends_on=[b]))
    d = new(up, dict(sh("true"), depends_on=[c]))
    x = new(up, dict(sh("true"), depends_on=[b]))  # a second branch under b
    wait_until(lambda: state(up, a) == "running", what="a running")
    assert state(up, d) == "waiting"
    assert kill(up, c)["result"] == "cancelled"  # a waiting job: at once, with what hangs below
    assert stopped(up, d)["result"] == "cancelled" and state(up, b) == "waiting"
    assert "cancelled dependency " + c in events(up, d)
    kill(up, a)
    assert stopped(up, a)["result"] == "killed"
    for job in (b, x):
        assert stopped(up, job)["result"] == "cancelled"
    assert "kill-requested" in events(up, a)


def test_graph_in_one_request_resolves_names_runs_in_order_and_groups_are_barriers(up):
    log = 'echo "$BANYAN_JOB_ID"'
    graph = {"name": "release", "jobs": {
        "fetch": sh(log),
        "build": dict(sh(log), depends_on=["fetch"]),
        "docs": dict(sh(log), depends_on=["fetch"]),
        "gate": {"depends_on": ["build", "docs"]},            # a group: no commands
        "ship": dict(sh(log), depends_on=["gate"]),
    }}
    answer = post(up, graph)
    gid, ids = answer["request_id"], answer["jobs"]
    assert ids == {n: f"{gid}.{n}" for n in ("fetch", "build", "docs", "gate", "ship")}
    assert stopped(up, gid)["status"] == "good"                # the graph's own group: all done
    recs = {n: stopped(up, i) for n, i in ids.items()}
    assert all(r["status"] == "good" for r in recs.values())
    assert up.cat("scheduler", "jobs", ids["build"], "depends-on") == ids["fetch"] + "\n"
    assert up.cat("scheduler", "jobs", ids["fetch"], "parent") == gid + "\n"
    assert set(up.cat("scheduler", "jobs", gid, "children").split()) == set(ids.values())
    assert up.cat("scheduler", "jobs", gid, "depends-on") == ids["ship"] + "\n"   # its sinks
    assert "group" in events(up, ids["gate"]) and up.cat("processor", "job", ids["gate"], "state") is None
    start = {n: up.cat("processor", "job", i, "started-at") for n, i in ids.items() if n != "gate"}
    end = {n: up.cat("processor", "job", i, "finished-at") for n, i in ids.items() if n != "gate"}
    assert end["fetch"] <= start["build"] and end["fetch"] <= start["docs"]
    assert max(end["build"], end["docs"]) <= recs["gate"]["finished-at"] <= start["ship"]
    again = post(up, dict(graph, request_id=gid), want=200)  # the same request_id: nothing new
    assert again == answer


def test_graph_is_all_or_nothing(up):
    good = sh("true")
    bad = [
        ({"jobs": {"a": dict(good, depends_on=["b"]), "b": dict(good, depends_on=["a"])}}, "cycle"),
        ({"jobs": {"a": good, "b": dict(good, bogus=1)}}, "jobs.b: unknown field 'bogus'"),
        ({"jobs": {"a": dict(good, depends_on=["nosuchjob"])}}, "no job nosuchjob"),
        ({"jobs": {"a": dict(good, request_id="x")}}, "request_id belongs on the graph"),
        ({"jobs": {"../x": good}}, "invalid job name"),
        ({"jobs": {"a": dict(good, array="5-1")}}, "empty range"),
    ]
    for body, words in bad:
        text, code = split_code(curl("-X", "POST", "-d", json.dumps(body), f"{up.url}/scheduler/jobs/new"))
        assert code == 400 and words in json.loads(text)["error"], text
    assert os.listdir(up.path("incoming")) == [] and os.listdir(up.path("scheduler", "jobs")) == []


def test_children_submitted_from_inside_a_job_are_recorded_and_killed_with_it(up):
    script = r'''
      curl -s -d "{\"parent\":\"$BANYAN_JOB_ID\",\"request_id\":\"$BANYAN_JOB_ID-c1\",\"commands\":[{\"exec\":[\"sleep\",\"60\"]}]}" "$BANYAN_URL/scheduler/jobs/new" > c1.out
      curl -s -d "{\"parent\":\"$BANYAN_JOB_ID\",\"request_id\":\"$BANYAN_JOB_ID-c2\",\"depends_on\":[\"$BANYAN_JOB_ID-c1\"],\"commands\":[{\"exec\":[\"true\"]}]}" "$BANYAN_URL/scheduler/jobs/new" > c2.out
      sleep 60'''
    parent = new(up, sh(script))
    c1, c2 = f"{parent}-c1", f"{parent}-c2"
    wait_until(lambda: (up.cat("scheduler", "jobs", parent, "children") or "").split() == [c1, c2],
               what="children recorded")
    assert up.cat("scheduler", "jobs", c1, "parent") == parent + "\n"
    wait_until(lambda: state(up, c1) == "running", what="first child running")
    assert state(up, c2) == "waiting"
    dag = get(up, f"{parent}/dag")
    assert [(j["id"], j["state"]) for j in dag["children"]] == [(c1, "running"), (c2, "waiting")]
    kill(up, parent)
    assert stopped(up, parent)["result"] == "killed"
    assert stopped(up, c1)["result"] == "killed"
    assert stopped(up, c2)["result"] == "cancelled"
    assert f"parent {parent} was killed" in events(up, c2)


def test_array_runs_each_index_and_never_more_than_its_limit(up):
    answer = post(up, {"array": "1-3,5,7-8%2", "name": "sweep",
                       "commands": [{"shell": 'echo "index $BANYAN_ARRAY_INDEX of $BANYAN_ARRAY_JOB_ID"; sleep 0.3'}]})
    aid, tasks = answer["request_id"], answer["jobs"]
    assert list(tasks) == ["1", "2", "3", "5", "7", "8"]
    st = stopped(up, aid, timeout=30)
    assert (st["status"], st["result"]) == ("good", "success")
    spans = []
    for index, job_id in tasks.items():
        assert stopped(up, job_id)["status"] == "good"
        assert up.cat("processor", "job", job_id, "log") == f"index {index} of {aid}\n"
        assert up.cat("scheduler", "jobs", job_id, "parent") == aid + "\n"
        spans.append((up.cat("processor", "job", job_id, "started-at").strip(),
                      up.cat("processor", "job", job_id, "finished-at").strip()))
    edges = sorted([(s, 1) for s, _ in spans] + [(f, -1) for _, f in spans], key=lambda e: (e[0], e[1]))
    running, most = 0, 0
    for _, step in edges:
        running += step
        most = max(most, running)
    assert most == 2  # the limit was reached, and never passed (on the processor's own clock)
    assert get(up, f"{aid}")["name"] == "sweep"


def test_dag_walk_is_real_time_and_draws_with_graphviz(up):
    dot = need("dot")
    answer = post(up, {"jobs": {"slow": sh("sleep 60"), "next": dict(sh("true"), depends_on=["slow"]),
                                "last": dict(sh("true"), depends_on=["next"])}})
    gid, ids = answer["request_id"], answer["jobs"]
    wait_until(lambda: state(up, ids["slow"]) == "running", what="slow running")
    walk = get(up, f"{ids['next']}/dag")
    assert (walk["id"], walk["state"]) == (ids["next"], "waiting")
    assert [(j["id"], j["state"], j["status"]) for j in walk["dependencies"]] == [(ids["slow"], "running", "unknown")]
    assert [j["id"] for j in walk["dependents"]] == [ids["last"], gid]
    assert [j["id"] for j in walk["parents"]] == [gid]
    assert {j["id"] for j in get(up, f"{gid}/dag")["children"]} == set(ids.values())
    kill(up, ids["slow"])
    stopped(up, ids["last"])
    walk = get(up, f"{ids['next']}/dag")
    assert walk["state"] == "stopped" and walk["dependencies"][0]["status"] == "error"
    svg = subprocess.run([dot, "-Tsvg"], input=to_dot(get(up, f"{gid}/dag")), capture_output=True,
                         text=True, check=True).stdout
    assert "<svg" in svg and ids["last"] in svg and "lightcoral" in svg
    text, code = split_code(curl(f"{up.url}/scheduler/jobs/nosuch/dag"))
    assert code == 404 and "error" in json.loads(text)


def test_cli_submits_a_graph_and_an_array_and_draws_the_walk(up, tmp_path):
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps({"jobs": {
        "fetch": {"commands": [{"shell": "echo fetched"}]},
        "build": {"depends_on": ["fetch"], "commands": [{"shell": "echo built"}]}}}))
    lines = up.cli("submit", "--wait", "--dag", str(graph)).stdout.split("\n")
    gid, names = lines[0], dict(line.split() for line in lines[1:] if line)
    assert set(names) == {"fetch", "build"}
    assert up.cat("processor", "job", names["build"], "log") == "built\n"
    aid = up.cli("submit", "--wait", "--array", "1-4%2", "--shell", "--",
                 'echo "task $BANYAN_ARRAY_INDEX"').stdout.strip()
    assert up.cat("processor", "job", f"{aid}.3", "log") == "task 3\n"
    dot = up.cli("dag", "--dot", names["build"]).stdout
    assert f'"{names["fetch"]}" -> "{names["build"]}";' in dot and f'"{gid}"' in dot
    bad = up.cli("submit", "--dag", str(graph), "--", "true", check=False)
    assert bad.returncode == 2 and "--dag" in bad.stderr
