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
from ..defaults import MAX_BODY
from ..errors import BadRequest, Conflict, Forbidden, TooLarge
from ..graph import expand, is_many
from ..jsontext import sorted_text
from ..request import from_form, normalise, parse_json
from ..spool import Spool, ids
from ..spool.paths import ATTACHMENTS
from . import uploads, views


def receive(spool: Spool, owner: str | None = None) -> tuple[str, bool, dict | None]:
    """Take a submission in any of its forms (JSON, form, multipart with files, a graph or
    an array); (id, created, the graph's name → id map or None)."""
    if not uploads.is_multipart(bottle.request.content_type):
        data = read_request()
        if is_many(data):
            return submit_many(spool, data, owner)
        return (*submit(spool, data, owner=owner), None)
    with staging(spool) as stage:
        form = uploads.read(bottle.request.environ, stage, set(ATTACHMENTS), defaults.MAX_BUNDLE)
        data = parse_json(form.fields.pop("request")[-1].encode()) if "request" in form.fields else {}
        for key, value in from_form(form.fields).items():
            if key in data:
                raise BadRequest(f"{key} is given both in the request and as a form field")
            data[key] = value
        return (*submit(spool, data, stage, form.files, owner), None)


@contextmanager
def staging(spool: Spool):
    """A folder in tmp/ for uploads, removed on the way out whatever happened."""
    path = spool.incoming.stage()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_request() -> dict:
    """The body as a request dict, from JSON or a form post.

    `curl -d '{...}'` sends JSON labelled as a form; no form body starts with `{`, so such
    a body is read as the JSON it is (the usual way to submit from inside a job).
    """
    ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
    data = web.body()
    if ctype == "application/x-www-form-urlencoded" and not data.lstrip().startswith(b"{"):
        try:
            form = urllib.parse.parse_qs(data.decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=bool(data), errors="strict")
        except (UnicodeDecodeError, ValueError) as err:
            raise BadRequest(f"malformed form body: {err}") from None
        return from_form(form)
    if ctype not in ("", "application/json", "text/json", "application/x-www-form-urlencoded"):
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
    if is_many(data):
        if files:
            raise BadRequest("a graph or an array cannot come with a bundle or an input")
        job_id, created, _ = submit_many(spool, data, owner)
        return job_id, created
    request = normalise(data)
    job_id = request["request_id"] or ids.new_id()
    if request["request_id"] and known(spool, job_id):
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
    if job_id in request["depends_on"]:
        raise BadRequest("a job cannot depend on itself")
    check_links(spool, {job_id}, [request], chosen=bool(request["request_id"]))
    request["request_id"] = job_id
    if owner is not None:
        request["owner"] = owner
    for field, path in files.items():
        os.rename(path, os.path.join(stage, ATTACHMENTS[field]))
    created = spool.incoming.submit(job_id, sorted_text(request).encode(),
                                    stage if files else None)
    if not created and not known(spool, job_id):
        raise Conflict(f"a submission with request_id {job_id} is on its way; ask again")
    return job_id, created


def submit_many(spool: Spool, data: dict, owner: str | None = None) -> tuple[str, bool, dict[str, str]]:
    """Store a graph or an array as ONE file, so it is all submitted or none of it.

    Returns (group id, created, local name or index → job id). `owner` as for `submit`:
    every job the file makes gets it.
    """
    chosen = data.get("request_id") is not None
    gid = ids.check(data["request_id"], "request_id") if chosen else ids.new_id()
    data = dict(data, request_id=gid)
    members, names = expand(data, gid)
    if chosen and known(spool, gid):
        if owner is not None and views.owner(spool, gid) != owner:
            raise Forbidden(f"request_id {gid} is a job of another token")
        return gid, False, names
    made = {m.id for m in members}
    if chosen:
        taken = next((j for j in made if known(spool, j)), None)
        if taken:
            raise BadRequest(f"job {taken} exists already: choose another request_id")
    check_links(spool, made, [m.request for m in members], chosen)
    for member in members:
        if member.request["arguments"]:
            raise BadRequest(f"job {member.id}: arguments are for a bundle's run.sh, and a graph has no bundles")
        if member.request["notify"]:
            notifyurl.resolve(member.request["notify"], notifyurl.allowed_networks())
    if owner is not None:
        data["owner"] = owner
    body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    if len(body) > MAX_BODY:
        raise TooLarge(f"request is over the limit of {MAX_BODY} bytes")
    created = spool.incoming.submit(gid, body)
    return gid, created, names


def known(spool: Spool, job_id: str) -> bool:
    """A job with this id exists, or waits in `incoming/` (alone or in a graph)."""
    return spool.jobs.exists(job_id) or views.incoming_request(spool, job_id) is not None


def check_links(spool: Spool, made: set[str], requests: list[dict], chosen: bool) -> None:
    """400 unless every dependency and parent outside `made` exists, and no dependency
    makes a cycle. A cycle needs an existing job that depends on a new one, which only an
    id the client chose can be, so only then is the pending ancestry walked."""
    outside = {d for r in requests for d in r["depends_on"]} - made
    for dep in sorted(outside):
        if not known(spool, dep):
            raise BadRequest(f"depends_on: no job {dep}")
    for parent in {r["parent"] for r in requests if r["parent"]} - made:
        if not known(spool, parent):
            raise BadRequest(f"parent: no job {parent}")
    if chosen:
        cycle = _reaches(spool, outside, made)
        if cycle:
            raise BadRequest(f"depends_on makes a cycle: {cycle} already waits on this request")


def _reaches(spool: Spool, start: set[str], targets: set[str], limit: int = 100000) -> str | None:
    """A job among `start` whose pending dependencies lead back to one of `targets`, or None.

    Only pending jobs (waiting, held, incoming) can still depend on an id not yet made.
    """
    for first in sorted(start):
        seen, stack = set(), [first]
        while stack and len(seen) < limit:
            job_id = stack.pop()
            if job_id in targets:
                return first
            if job_id in seen:
                continue
            seen.add(job_id)
            stack += _pending_deps(spool, job_id)
    return None


def _pending_deps(spool: Spool, job_id: str) -> list[str]:
    if spool.jobs.exists(job_id):
        if spool.jobs.get(job_id, "state") in ("waiting", "held"):
            return spool.jobs.lines(job_id, "depends-on")
        return []
    found = views.incoming_request(spool, job_id)
    deps = found[0].get("depends_on") if found else None
    return [d for d in deps if ids.valid(d)] if isinstance(deps, list) else []
