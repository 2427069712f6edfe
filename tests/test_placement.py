"""Placement from the daemon's pool of threads, against a real processor on loopback.

The pass that places hands the batch over and returns; the answer arrives in a pool
thread, which wakes the loop; the next pass applies it. The reports of the jobs land in
the shared state folder (`--drop-reports`), as under `banyan up`.
"""

import json
import threading

from conftest import wait_until
from test_processor import Processor

from banyan.spool import Spool
from banyan.scheduler.passes import Scheduler


def test_a_busy_daemon_sends_from_its_pool_and_the_next_pass_applies_the_answer(tmp_path):
    state = str(tmp_path / "state")
    node = Processor(state, args=("--drop-reports", "--cores", "4"))
    try:
        node.new("r1", attempt=2, commands=[{"exec": ["sleep", "0.3"]}])  # the node refuses attempt 1
        spool = Spool(state)
        spool.nodes.register({"name": "p1", "uri": node.url, "cores": 4, "memory": 1 << 30, "gpus": 0})
        ids = ["j1", "j2", "r1"]
        for job_id in ids:
            spool.incoming.submit(job_id, json.dumps({"commands": [{"exec": ["sleep", "0.3"]}]}).encode())
        scheduler = Scheduler(spool)
        answered = threading.Event()
        scheduler.placer.send_in_background(answered.set)
        scheduler.placer.wait_for_answers = False  # as after a busy pass
        report = scheduler.run_pass()
        assert sorted(report.placed) == ids  # handed over: the pass did not wait
        assert [spool.jobs.get(j, "state") for j in ids] == ["starting"] * 3
        assert answered.wait(10)  # the node's answer came in a pool thread
        assert "refused" not in spool.jobs.get("r1", "events")
        scheduler.run_pass()  # applies it: r1 goes back to the queue, the others wait there
        assert "refused node p1: job r1 is already at attempt 2" in spool.jobs.get("r1", "events")
        resend: dict = {}
        scheduler.placer.resend_starting(resend)
        assert "j1" not in resend.get("p1", []) and "j2" not in resend.get("p1", [])
        wait_until(lambda: scheduler.run_pass() and all(
            spool.jobs.get(j, "state") == "stopped" for j in ids), timeout=20, what="the jobs to stop")
        assert [spool.jobs.get(j, "result") for j in ids] == ["success"] * 3
        assert [spool.jobs.get(j, "attempts") for j in ids] == ["1", "1", "2"]
        assert [node.cat(j, "attempt") for j in ids] == ["1\n", "1\n", "2\n"]
    finally:
        node.kill_group()
