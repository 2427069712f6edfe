"""Notifications: delivered off the pass, retried with back-off, refused where SSRF would reach."""

import json
import os
import re
import time

import pytest
from conftest import Up, curl, free_port, split_code, wait_until
from receivers import Receiver

from banyan import timefmt
from banyan.scheduler import lifecycle
from banyan.scheduler.notify import Notifier
from banyan.spool import Spool
from banyan.states import Result, State

LOOPBACK = ["127.0.0.0/8"]


@pytest.fixture
def receiver():
    r = Receiver(codes=[500, 503])
    yield r
    r.close()


@pytest.fixture
def up_allowing_loopback(tmp_path):
    system = Up(str(tmp_path / "state"), free_port(), env={"BANYAN_NOTIFY_ALLOW": ",".join(LOOPBACK)})
    yield system
    system.stop()


def notify_lines(events: str) -> list[str]:
    return [line.split(" ", 2)[2] for line in events.splitlines() if line.split(" ")[1] == "notify"]


def test_receiver_failing_twice_gets_the_third_try_with_every_try_in_events(up_allowing_loopback, receiver):
    up = up_allowing_loopback
    body, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json", "-d", json.dumps(
        {"name": "hooked", "commands": [{"exec": ["sh", "-c", "exit 3"]}], "notify": receiver.url}),
        f"{up.url}/scheduler/jobs/new"))
    assert code == 201, body
    job_id = json.loads(body)["request_id"]
    wait_until(lambda: receiver.bodies, timeout=30, what="the notification")
    assert receiver.hits == 3
    assert receiver.bodies == [{"id": job_id, "name": "hooked", "state": "stopped", "status": "error",
                                "result": "failure", "exit-status": 3, "retcode": 3, "job-uuid": job_id,
                                "node": "local", "finished-at": receiver.bodies[0]["finished-at"]}]
    lines = wait_until(lambda: len(notify_lines(up.cat("scheduler", "jobs", job_id, "events"))) == 3
                       and notify_lines(up.cat("scheduler", "jobs", job_id, "events")), what="3 events")
    assert lines[0] == "try 1 of 8: HTTP 500; next try in 2 s"
    assert lines[1] == "try 2 of 8: HTTP 503; next try in 4 s"
    assert lines[2] == "try 3 of 8: delivered, HTTP 200"
    at = [timefmt.parse(line.split()[0]) for line in
          up.cat("scheduler", "jobs", job_id, "events").splitlines() if " notify " in line]
    assert 1.9 < at[1] - at[0] < 3.5 and 3.9 < at[2] - at[1] < 5.5
    assert os.listdir(up.path("scheduler", "notify")) == []


INNER = [
    "http://127.0.0.1:9/x", "http://127.1/", "http://2130706433/", "http://0x7f000001/",
    "http://017700000001/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://192.168.1.1/",
    "http://localhost/", "http://localhost./", "file:///etc/passwd", "gopher://127.0.0.1/",
    "ftp://example.org/", "http://user:pw@example.org/", "http:///nohost", "http://[fd00:ec2::254]/",
]
"""Loopback in its spellings, private, link-local (cloud metadata), ULA, other schemes: all refused."""


def test_notify_to_an_inner_address_or_other_scheme_is_400_at_submission(up):
    for url in INNER:
        body, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                                     json.dumps({"commands": [{"exec": ["true"]}], "notify": url}),
                                     f"{up.url}/scheduler/jobs/new"))
        assert code == 400 and "error" in json.loads(body), (url, body)
    assert os.listdir(up.path("incoming")) == [] and os.listdir(up.path("tmp")) == []


def stopped_job(spool: Spool, job_id: str, url: str) -> None:
    """A job record that has just stopped, as the pass leaves it (the real lifecycle code)."""
    from banyan.request import normalise
    request = normalise({"commands": [{"exec": ["true"]}], "notify": url, "request_id": job_id})
    spool.jobs.create(job_id, request, State.QUEUED, time.time())
    lifecycle.stop(spool, job_id, Result.SUCCESS, "exit-status 0", exit_status=0)


def test_delivery_refuses_what_submission_would_have(tmp_path):
    """A file dropped in incoming/ skips the API's check; delivery checks again and says why."""
    spool = Spool(str(tmp_path / "state"))
    decoy = Receiver("127.0.0.2")
    try:
        stopped_job(spool, "dropped-1", decoy.url)
        assert spool.notices.ids() == ["dropped-1"]
        Notifier(spool, allow=[]).run_due()
        assert decoy.hits == 0
        assert notify_lines("\n".join(spool.jobs.record("dropped-1")["events"]))[0].startswith(
            "refused: notify host '127.0.0.2' resolves to 127.0.0.2, which is not a public address")
        assert spool.notices.ids() == []
    finally:
        decoy.close()


def test_redirects_are_not_followed_and_tries_are_bounded(tmp_path):
    from banyan.notifyurl import allowed_networks
    spool = Spool(str(tmp_path / "state"))
    decoy = Receiver("127.0.0.3")
    redirect = Receiver(codes=[302] * 10, location=decoy.url)
    try:
        stopped_job(spool, "moved-1", redirect.url)
        notifier = Notifier(spool, allow=allowed_networks({"BANYAN_NOTIFY_ALLOW": "127.0.0.1/32"}),
                            tries=3, first_retry=0.05)

        def drained():
            notifier.run_due()
            return not spool.notices.ids()

        wait_until(drained, timeout=5, what="three tries")
        lines = notify_lines("\n".join(spool.jobs.record("moved-1")["events"]))
        assert [re.sub(r"; next.*", "", x) for x in lines] == [
            "try 1 of 3: HTTP 302 (redirects are not followed)",
            "try 2 of 3: HTTP 302 (redirects are not followed)",
            "try 3 of 3: HTTP 302 (redirects are not followed); giving up"]
        assert redirect.hits == 3 and decoy.hits == 0
    finally:
        decoy.close()
        redirect.close()
