"""The processor's HTTP API (SPEC §5, scheduler → node)."""

import bottle

from .. import auth, crash, defaults, web
from ..auth import Identity
from ..errors import BadRequest, BanyanError, Forbidden
from ..spool import ids
from ..spool.tokens import Tokens
from . import artifacts
from .backends import Backend

MAX_BATCH = 10000
"""Jobs in one `POST /processor/jobs/new`: a bound on one request's work."""


def only_nodes(identity: Identity, method: str, rule: str, _args: dict) -> None:
    """The processor answers the scheduler (node tokens) and admins, never users (SPEC §6)."""
    if identity.role != "node":
        raise Forbidden(f"a {identity.role} token may not call the processor API")


def make_app(backend: Backend, node: str) -> bottle.Bottle:
    app = web.new_app()
    auth.install(app, Tokens(backend.jobs.layout), only_nodes)
    web.guard_ids(app, "/processor/job/")
    jobs = backend.jobs

    @app.post("/processor/job/new")
    def new():
        return backend.accept(web.json_body())

    @app.post("/processor/jobs/new")
    def new_batch():
        data = web.json_body(defaults.MAX_BODY * 64)
        batch = data.get("jobs")
        if not isinstance(batch, list) or len(batch) > MAX_BATCH:
            raise BadRequest(f"a batch is {{\"jobs\": [...]}} with at most {MAX_BATCH} jobs")
        answers = []
        for body in batch:
            try:
                answers.append(backend.accept(body))
                crash.point("processor.batch-accepted")
            except BanyanError as err:
                job_id = body.get("request_id") if isinstance(body, dict) else None
                answers.append({"id": job_id, "error": str(err), "code": err.status})
        return {"jobs": answers}

    @app.get("/processor/job/<job_id>/status")
    def status(job_id):
        return backend.record(job_id)

    @app.post("/processor/job/<job_id>/status")
    def progress(job_id):
        backend.record(job_id)
        data = web.json_body()
        percent, message = data.get("progress"), data.get("message", "")
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise BadRequest("progress must be a number from 0 to 100")
        if not isinstance(message, str) or len(message) > 1024:
            raise BadRequest("message must be a string of at most 1024 characters")
        jobs.set_progress(job_id, percent, message)
        return backend.record(job_id)

    @app.get("/processor/jobs/status")
    def statuses():
        wanted = bottle.request.query.get("ids")
        chosen = None
        if wanted is not None:
            chosen = [i for i in wanted.split(",") if i]
            for job_id in chosen:
                ids.check(job_id)
        return {"jobs": backend.records(chosen)}

    @app.get("/processor/job/<job_id>/log")
    def log(job_id):
        offset = web.whole("offset", 0, 0, 1 << 62)
        tail = web.whole("tail", None, 0, defaults.LOG_CHUNK)
        data, end = jobs.read_log(job_id, offset, tail=tail)
        bottle.response.content_type = "application/octet-stream"
        bottle.response.set_header("X-Banyan-Offset", str(end))
        return data

    @app.get("/processor/job/<job_id>/artifacts/<name>")
    def artifact(job_id, name):
        f, size, ctype = artifacts.open_artifact(jobs, job_id, name)
        bottle.response.content_type = ctype
        bottle.response.content_length = size
        return artifacts.chunks(f)

    @app.post("/processor/job/<job_id>/withdraw")
    def withdraw(job_id):
        return backend.withdraw(job_id)

    @app.post("/processor/job/<job_id>/<action:re:kill|suspend|continue>")
    def control(job_id, action):
        return backend.control(job_id, action)

    @app.get("/processor/health")
    def health():
        return {"name": node, **backend.health()}

    return app
