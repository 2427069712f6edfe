"""Artifacts and archives over HTTP: what users fetch from a job's node, and what nodes fetch from us.

`GET /scheduler/jobs/<id>/artifacts/<stdout|stderr|output>` is streamed from the job's
node through the scheduler (no shared disk is assumed; nothing is held in memory).
`GET /scheduler/jobs/<id>/files/<bundle|input>` is how a node fetches a job's archives.
"""

import os
import stat

import bottle

from ..errors import NotFound, Unavailable
from ..spool import Spool
from ..spool.paths import ATTACHMENTS
from . import views

PASSED_HEADERS = ("Content-Type", "Content-Length")


def install(app: bottle.Bottle, spool: Spool) -> None:
    @app.get("/scheduler/jobs/<job_id>/artifacts/<name>")
    def artifact(job_id, name):
        return stream(spool, job_id, name)

    @app.get("/scheduler/jobs/<job_id>/files/<name>")
    def archive(job_id, name):
        views.record(spool, job_id)
        if name not in ATTACHMENTS:
            raise NotFound(f"no file {name!r}: there are {', '.join(ATTACHMENTS)}")
        path = spool.layout.job_file(job_id, ATTACHMENTS[name])
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            raise NotFound(f"job {job_id} has no {name}") from None
        f = os.fdopen(fd, "rb")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            f.close()
            raise NotFound(f"job {job_id} has no {name}")
        bottle.response.content_type = "application/gzip"
        bottle.response.content_length = st.st_size
        from ..processor.artifacts import chunks  # not on the CGI path of other routes
        return chunks(f)


def stream(spool: Spool, job_id: str, name: str):
    """The artifact's bytes, streamed from the node the job ran on (its current attempt)."""
    from ..processor.artifacts import (
        NAMES,  # imported here: CGI loads only what a route needs
    )
    from ..scheduler.nodeclient import NodeClient, NodeError
    views.record(spool, job_id)
    if name not in NAMES:
        raise NotFound(f"no artifact {name!r}: there are {', '.join(NAMES)}")
    node = spool.jobs.get(job_id, "node") if spool.jobs.exists(job_id) else None
    if not node:
        raise NotFound(f"job {job_id} has not run yet, so it has no {name}")
    uri = spool.nodes.get(node)["uri"]
    try:
        status, headers, body = NodeClient(uri).stream(f"/processor/job/{job_id}/artifacts/{name}")
    except NodeError as err:
        raise Unavailable(str(err)) from None
    if status == 404:
        body.close()
        raise NotFound(f"node {node} no longer has job {job_id} (removed by banyan gc?)")
    if status != 200:
        body.close()
        raise Unavailable(f"node {node} answered {status} for the {name} of job {job_id}")
    lower = {k.lower(): v for k, v in headers.items()}
    for key in PASSED_HEADERS:
        if key.lower() in lower:
            bottle.response.set_header(key, lower[key.lower()])
    if name == "output":
        bottle.response.set_header("Content-Disposition", f'attachment; filename="{job_id}-output.tar.gz"')
    return body
