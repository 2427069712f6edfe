"""Submission: validate, then write the request durably into `incoming/` and answer 201.

Nothing is written before the request is whole and valid; the 201 goes out after the
file and its folder are fsynced, so an answered job survives a crash (SPEC §2).
"""

import json
import urllib.parse

import bottle

from .. import web
from ..errors import BadRequest, Forbidden
from ..request import from_form, normalise, parse_json
from ..spool import Spool, ids
from . import views


def read_request() -> dict:
    """The body as a request dict, from JSON or a form post."""
    ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
    data = web.body()
    if ctype == "application/x-www-form-urlencoded":
        try:
            form = urllib.parse.parse_qs(data.decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=bool(data), errors="strict")
        except (UnicodeDecodeError, ValueError) as err:
            raise BadRequest(f"malformed form body: {err}") from None
        return from_form(form)
    if ctype.startswith("multipart/"):
        raise BadRequest("multipart bodies (bundles) are not accepted by this server")
    if ctype not in ("", "application/json", "text/json"):
        raise BadRequest(f"unsupported Content-Type {ctype!r}: send JSON or a form")
    return parse_json(data)


def submit(spool: Spool, data: dict, owner: str | None = None) -> tuple[str, bool]:
    """Store one request; returns (id, created). A known request_id creates nothing.

    `owner` (the submitting token's name) travels in the incoming file beside the
    request; intake moves it to the record's `owner` file.
    """
    request = normalise(data)
    job_id = request["request_id"] or ids.new_id()
    if request["request_id"] and (spool.jobs.exists(job_id) or spool.incoming.has(job_id)):
        if owner is not None and views.owner(spool, job_id) != owner:
            raise Forbidden(f"request_id {job_id} is a job of another token")
        return job_id, False
    for dep in request["depends_on"]:
        if dep == job_id:
            raise BadRequest("a job cannot depend on itself")
        if not (spool.jobs.exists(dep) or spool.incoming.has(dep)):
            raise BadRequest(f"depends_on: no job {dep}")
    if request["parent"] and not (spool.jobs.exists(request["parent"])
                                  or spool.incoming.has(request["parent"])):
        raise BadRequest(f"parent: no job {request['parent']}")
    request["request_id"] = job_id
    if owner is not None:
        request["owner"] = owner
    created = spool.incoming.submit(job_id, json.dumps(request, sort_keys=True).encode())
    return job_id, created
