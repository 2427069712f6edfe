"""Job routes (SPEC §5, scheduler): submit, list, record, status, update, kill, log."""

import time

import bottle

from .. import defaults, web
from ..errors import NotFound, Unavailable
from ..spool import Spool, ids
from ..states import State
from . import access, views

FOLLOW_POLL = 0.2
"""Seconds between reads of a followed log."""

FOLLOW_MAX = 24 * 3600.0
"""A followed log stream ends after this long even if the job has not stopped."""


def install(app: bottle.Bottle, spool: Spool) -> None:
    actions = LazyActions(spool)

    @app.post("/scheduler/jobs/new")
    def new_job():
        from . import submit  # here: a CGI process that only reads never loads it

        job_id, created, names = submit.receive(spool, access.submitter())
        answer = {} if names is None else {"jobs": names}
        bottle.response.status = 201 if created else 200
        if created:
            bottle.response.set_header("Location", f"/scheduler/jobs/{job_id}")
        return {"request_id": job_id, **answer}

    @app.get("/scheduler/jobs")
    def list_jobs():
        items = views.listing(spool, bottle.request.query, access.owner_filter())
        if web.wants_text():
            return web.text_lines(items, list(views.SUMMARY))
        return {"jobs": items}

    @app.get("/scheduler/jobs/<job_id>")
    def job_record(job_id):
        return _out(views.record(spool, job_id))

    @app.get("/scheduler/jobs/<job_id>/status")
    def job_status(job_id):
        return _out(views.status(spool, job_id))

    @app.post("/scheduler/jobs/<job_id>/update")
    def job_update(job_id):
        views.record(spool, job_id)
        if not spool.jobs.exists(job_id):
            return _out(views.record(spool, job_id))
        return _out(actions.update(job_id, time.time()))

    @app.post("/scheduler/jobs/<job_id>/kill")
    def job_kill(job_id):
        views.record(spool, job_id)
        if not spool.jobs.exists(job_id):  # still in incoming/: let the pass take it first
            wait_intake(spool, job_id)
        return _out(actions.kill(job_id, time.time()))

    @app.post("/scheduler/jobs/<job_id>/<action:re:hold|release|suspend|continue>")
    def job_control(job_id, action):
        views.record(spool, job_id)
        if not spool.jobs.exists(job_id):
            wait_intake(spool, job_id)
        now = time.time()
        if action in ("hold", "release"):
            return _out(getattr(actions, action)(job_id, now))
        return _out(actions.signal(job_id, action, now))

    @app.get("/scheduler/jobs/<job_id>/log")
    def job_log(job_id):
        views.record(spool, job_id)
        offset = web.whole("offset", 0, 0, 1 << 62)
        tail = web.whole("tail", None, 0, defaults.LOG_CHUNK)
        bottle.response.content_type = "text/plain; charset=utf-8"
        if bottle.request.query.get("follow") in ("1", "true", "yes"):
            return _follow(spool, job_id, offset, tail)
        data, end = log_chunk(spool, job_id, offset, tail)
        bottle.response.set_header("X-Banyan-Offset", str(end))
        return data


class LazyActions:
    """`scheduler.actions.Actions`, imported on first use: a status read through CGI
    should not load the scheduler (and its lock and HTTP client) at all."""

    def __init__(self, spool: Spool):
        self.spool = spool
        self._actions = None

    def __getattr__(self, name: str):
        if self._actions is None:
            from ..scheduler.actions import Actions
            self._actions = Actions(self.spool)
        return getattr(self._actions, name)


def _out(rec: dict):
    return web.text_record(rec) if web.wants_text() else rec


def wait_intake(spool: Spool, job_id: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not spool.jobs.exists(job_id):
        if time.monotonic() > deadline:
            raise Unavailable(f"job {job_id} is still waiting for intake; is the scheduler running?")
        time.sleep(0.02)


def log_chunk(spool: Spool, job_id: str, offset: int, tail: int | None = None) -> tuple[bytes, int]:
    """The log bytes after `offset` (the last `tail` of them, if given), fetched from the
    job's node (no shared disk is assumed)."""
    from ..scheduler.nodeclient import NodeClient, NodeError
    ids.check(job_id)
    node = spool.jobs.get(job_id, "node") if spool.jobs.exists(job_id) else None
    if not node:
        return b"", offset
    try:
        uri = spool.nodes.get(node)["uri"]
        return NodeClient(uri).log(job_id, offset, tail)
    except (NotFound, NodeError):
        return b"", offset


def _follow(spool: Spool, job_id: str, offset: int, tail: int | None = None):
    """Stream the log (from its last `tail` bytes, if given) until the job has stopped and
    every byte was sent."""
    deadline = time.monotonic() + FOLLOW_MAX
    while time.monotonic() < deadline:
        stopped = spool.jobs.exists(job_id) and spool.jobs.get(job_id, "state") == State.STOPPED.value
        data, offset = log_chunk(spool, job_id, offset, tail)
        tail = None
        if data:
            yield data
        elif stopped:
            return
        else:
            time.sleep(FOLLOW_POLL)
