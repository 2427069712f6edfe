"""Submission: validate, then write the request durably into `incoming/` and answer 201.

Nothing is written before the request is whole and valid; the 201 goes out after the
file and its folder are fsynced, so an answered job survives a crash (SPEC §2). A
multipart body's `bundle` and `input` are streamed into a staging folder in `tmp/`,
checked member by member, and moved beside the request only when all of it is good:
a refused request leaves nothing behind.
"""

import json
import os
import shutil
import urllib.parse
from contextlib import contextmanager

import bottle

from .. import bundle, defaults, notifyurl, web
from ..errors import BadRequest, Conflict, Forbidden
from ..request import from_form, normalise, parse_json
from ..spool import Spool, ids
from ..spool.paths import ATTACHMENTS
from . import uploads, views


def receive(spool: Spool, owner: str | None = None) -> tuple[str, bool]:
    """Take a submission in any of its forms (JSON, form, multipart with files); (id, created)."""
    if not uploads.is_multipart(bottle.request.content_type):
        return submit(spool, read_request(), owner=owner)
    with staging(spool) as stage:
        form = uploads.read(bottle.request.environ, stage, set(ATTACHMENTS), defaults.MAX_BUNDLE)
        data = parse_json(form.fields.pop("request")[-1].encode()) if "request" in form.fields else {}
        for key, value in from_form(form.fields).items():
            if key in data:
                raise BadRequest(f"{key} is given both in the request and as a form field")
            data[key] = value
        return submit(spool, data, stage, form.files, owner)


@contextmanager
def staging(spool: Spool):
    """A folder in tmp/ for uploads, removed on the way out whatever happened."""
    path = spool.incoming.stage()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


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
    if ctype not in ("", "application/json", "text/json"):
        raise BadRequest(f"unsupported Content-Type {ctype!r}: send JSON or a form")
    return parse_json(data)


def submit(spool: Spool, data: dict, stage: str | None = None,
           files: dict[str, str] | None = None, owner: str | None = None) -> tuple[str, bool]:
    """Store one request, with the archives in `files` (field → path in `stage`); (id, created).

    A known request_id creates nothing. A bundle's run.sh, with `arguments`, becomes the
    first command; an input is only checked here, and unpacked on the node. `owner` (the
    submitting token's name) travels in the incoming file beside the request; intake
    moves it to the record's `owner` file.
    """
    files = files or {}
    request = normalise(data)
    job_id = request["request_id"] or ids.new_id()
    if request["request_id"] and _known(spool, job_id):
        if owner is not None and views.owner(spool, job_id) != owner:
            raise Forbidden(f"request_id {job_id} is a job of another token")
        return job_id, False
    if request["arguments"] and "bundle" not in files:
        raise BadRequest("arguments are for a bundle's run.sh: send a bundle too")
    if "bundle" in files:
        summary = bundle.check(files["bundle"], "bundle", need_run_sh=True)
        request["commands"].insert(0, bundle.command(summary, request["arguments"]))
        if "name" not in data:
            request["name"] = "run.sh"
    if "input" in files:
        bundle.check(files["input"], "input")
    if request["notify"]:
        notifyurl.resolve(request["notify"], notifyurl.allowed_networks())
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
    for field, path in files.items():
        os.rename(path, os.path.join(stage, ATTACHMENTS[field]))
    created = spool.incoming.submit(job_id, json.dumps(request, sort_keys=True).encode(),
                                    stage if files else None)
    if not created and not _known(spool, job_id):
        raise Conflict(f"a submission with request_id {job_id} is on its way; ask again")
    return job_id, created


def _known(spool: Spool, job_id: str) -> bool:
    return spool.jobs.exists(job_id) or spool.incoming.has(job_id)
