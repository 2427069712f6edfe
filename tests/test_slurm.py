"""What only the Slurm backend has: crash-safe submission, Slurm's states, quoting, and a
whole `banyan up` whose jobs run through a real Slurm cluster (tests/slurm_fixture.py).

The processor contract itself runs against Slurm in test_processor.py.
"""

import json
import os
import re
import time

import pytest
from conftest import curl, split_code, wait_until
from slurm_fixture import slurm_cluster  # noqa: F401 - a fixture
from test_processor import Processor


@pytest.fixture
def cluster(slurm_cluster):  # noqa: F811 - the fixture imported above
    return slurm_cluster


@pytest.fixture
def snode(cluster, tmp_path):
    p = Processor(str(tmp_path / "state"), "slurm", cluster.env)
    yield p
    if p.proc.poll() is None:
        p.kill_group()
    cluster.cancel_all()


def comment_jobs(cluster, comment: str) -> list[str]:
    out = cluster.run("squeue", "--noheader", "--states=all", "--format=%i|%k")
    return [line.split("|")[0] for line in out.splitlines() if line.split("|", 1)[1] == comment]


def test_a_crash_between_sbatch_and_its_answer_never_submits_twice(cluster, tmp_path):
    runs = str(tmp_path / "runs")
    job = {"commands": [{"shell": 'echo run >> "$RUNS"'}], "environment": {"RUNS": runs}}
    crashing = Processor(str(tmp_path / "state"), "slurm",
                         dict(cluster.env, BANYAN_CRASH_AT="processor.slurm-submitted"))
    p = Processor(str(tmp_path / "state"), "slurm", cluster.env, start=False)
    cluster.run("scontrol", "update", "PartitionName=debug", "State=DOWN")  # the job stays pending
    try:
        assert crashing.call("POST", "/processor/job/new", {"request_id": "once", **job})[0] == 0
        crashing.proc.wait(timeout=10)  # it died right after sbatch, before writing slurm-job-id
        assert crashing.cat("once", "batch.sh") and crashing.cat("once", "slurm-job-id") is None
        submitted = comment_jobs(cluster, "banyan:p1:once:1")
        assert len(submitted) == 1
        p.start()
        again = p.new("once", **job)
        assert again["slurm-job-id"] == submitted[0]
        assert comment_jobs(cluster, "banyan:p1:once:1") == submitted
        cluster.run("scontrol", "update", "PartitionName=debug", "State=UP")
        assert p.stopped("once")["result"] == "success"
        assert open(runs).read() == "run\n"
    finally:
        cluster.run("scontrol", "update", "PartitionName=debug", "State=UP")
        for proc in (crashing, p):
            if proc.proc is not None and proc.proc.poll() is None:
                proc.kill_group()


def test_node_failure_makes_the_attempt_lost(cluster, snode):
    snode.new("nf", commands=[{"exec": ["sleep", "60"]}])
    wait_until(lambda: snode.cat("nf", "pid"), what="the job to start")
    cluster.run("scontrol", "update", "NodeName=localhost", "State=DOWN", "Reason=banyan-test")
    try:
        st = snode.stopped("nf")
        assert (st["result"], st["status"]) == ("lost", "error")
        assert "ended NODE_FAIL" in snode.cat("nf", "log")
    finally:
        cluster.run("scontrol", "update", "NodeName=localhost", "State=RESUME", check=False)
        wait_until(lambda: cluster.run("sinfo", "--noheader", "--format=%T").split() == ["idle"],
                   timeout=30, what="the node to be idle again")


def test_job_data_reaches_slurm_and_the_commands_as_words_never_as_shell(cluster, snode, tmp_path):
    nasty = ["$(touch pwned)", "`touch pwned`", "it's", 'say "hi"', "a;b|c&d", "two\nlines", "%j -x"]
    out = str(tmp_path / "args")
    rec = snode.new("q1", name="-x %j $(touch pwned)", timeout=120, kill_grace=5,
                    resources={"cores": 2, "memory": "100M"},
                    environment={"NASTY": nasty[0] + nasty[2]},
                    commands=[{"exec": ["python3", "-c", "import json, os, sys; json.dump("
                                        "[sys.argv[1:], os.environ['NASTY']], open(sys.argv[1], 'w'))",
                                        out, *nasty]},
                              {"exec": ["sleep", "3"]}])
    slurm_id = rec["slurm-job-id"]
    show = cluster.run("scontrol", "show", "job", slurm_id)
    assert "JobName=-x %j $(touch pwned)" in show
    assert re.search(r"NumCPUs=2\b", show) and "TimeLimit=00:04:00" in show
    assert re.search(r"MinMemory\w*=100M", show)
    wait_until(lambda: os.path.exists(out), timeout=30, what="the first command")
    args, env = json.load(open(out))
    assert args == [out, *nasty] and env == nasty[0] + nasty[2]
    assert snode.stopped("q1")["result"] == "success"
    assert not os.path.exists(os.path.join(snode.state, "processor", "job", "q1", "work", "pwned"))


def test_a_job_slurm_refuses_fails_with_slurms_reason(cluster, tmp_path):
    p = Processor(str(tmp_path / "state"), "slurm", cluster.env)
    try:
        rec = p.new("bad", commands=[{"exec": ["true"]}], resources={"gpus": 1})  # no GPU here
        assert (rec["state"], rec["result"], rec["status"]) == ("stopped", "failure", "error")
        assert "banyan: Slurm refused the job: sbatch: error: Invalid generic resource" in p.cat("bad", "log")
    finally:
        p.kill_group()


def test_up_with_a_slurm_node_runs_a_dag_through_slurm(cluster, up, tmp_path):
    node = Processor(str(tmp_path / "slurm-state"), "slurm", cluster.env, scheduler=up.url,
                     name="cluster")
    try:
        health = node.call("GET", "/processor/health")[1]
        assert (health["backend"], health["partition"], health["cores"]) == ("slurm", "debug", 2)
        body = json.dumps({"name": "cluster", "uri": node.url, "cores": health["cores"],
                           "memory": health["memory"], "gpus": health["gpus"], "labels": ["slurm"]})
        _, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json", "-d", body,
                                  f"{up.url}/scheduler/nodes"))
        assert code in (200, 201)

        def submit(name: str, *deps: str) -> str:
            job = {"name": name, "node": "slurm", "depends_on": list(deps),
                   "commands": [{"shell": f'echo "{name} on $SLURM_JOB_ID"'}]}
            text, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json",
                                         "-d", json.dumps(job), f"{up.url}/scheduler/jobs/new"))
            assert code == 201, text
            return json.loads(text)["request_id"]

        t0 = time.monotonic()
        a = submit("a")
        b, c = submit("b", a), submit("c", a)
        d = submit("d", b, c)
        records = {}
        for job_id in (a, b, c, d):
            records[job_id] = wait_until(lambda j=job_id: _stopped(up, j), timeout=60, what=job_id)
        elapsed = time.monotonic() - t0
        for job_id, name in ((a, "a"), (b, "b"), (c, "c"), (d, "d")):
            rec = records[job_id]
            assert (rec["status"], rec["result"], rec["node"]) == ("good", "success", "cluster"), rec
            slurm_id = node.cat(job_id, "slurm-job-id").strip()
            log, code = split_code(curl(f"{up.url}/scheduler/jobs/{job_id}/log"))
            assert code == 200 and log == f"{name} on {slurm_id}\n"
        started = {j: node.cat(j, "started-at") for j in (a, b, c, d)}  # as the batch scripts saw them
        finished = {j: node.cat(j, "finished-at") for j in (a, b, c, d)}
        assert finished[a] <= min(started[b], started[c]) and max(finished[b], finished[c]) <= started[d]
        assert not os.path.exists(up.path("processor", "job", a))  # nothing ran on `local`
        print(f"DAG of 4 Slurm jobs, submit to last end: {elapsed:.1f} s")
    finally:
        node.kill_group()


def _stopped(up, job_id: str) -> dict | None:
    text, code = split_code(curl(f"{up.url}/scheduler/jobs/{job_id}"))
    rec = json.loads(text) if code == 200 else {}
    return rec if rec.get("state") == "stopped" else None
