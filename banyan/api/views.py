"""Read-only views of jobs as the API shows them: records, statuses, listings.

Readers take no lock: every file they read was written by an atomic rename.
"""

import os

from .. import defaults, timefmt, web
from ..errors import BadRequest, NotFound
from ..request import parse_json
from ..spool import Spool, ids

SUMMARY = ("id", "name", "state", "status", "result", "node", "created-at")
STATUS = ("id", "name", "state", "status", "result", "node", "exit-status", "attempts",
          "created-at", "started-at", "finished-at", "progress")


def incoming_request(spool: Spool, job_id: str) -> tuple[dict, float] | None:
    """The request of a job still in `incoming/` (alone, or in a graph's or array's file),
    and that file's time; None if there is none."""
    holder = spool.incoming.holder(job_id)
    if holder is None:
        return None
    try:
        mtime = os.lstat(spool.layout.incoming_file(holder)).st_mtime
        data = parse_json(spool.incoming.read(holder))
        if holder == job_id:
            return data, mtime
        data.pop("owner", None)
        from ..graph import expand  # here: only a graph's or array's members need it

        members, _ = expand(dict(data, request_id=holder), holder)
    except (OSError, BadRequest):
        return None
    return next(((m.request, mtime) for m in members if m.id == job_id), None)


def incoming_record(spool: Spool, job_id: str) -> dict:
    """A job still in `incoming/`: readable at once after its 201 (SPEC §5)."""
    found = incoming_request(spool, job_id)
    if found is None:
        raise NotFound(f"no job {job_id}")
    request, mtime = found
    who = request.pop("owner", None)
    rec = {k: None for k in STATUS}
    rec.update({"owner": who, "id": job_id, "name": request.get("name", ""),
                "state": "incoming", "status": "unknown", "attempts": 0,
                "created-at": timefmt.iso(mtime), "events": [], "depends-on": [],
                "parent": request.get("parent"), "request": request})
    return rec


def record(spool: Spool, job_id: str) -> dict:
    ids.check(job_id)
    if spool.jobs.exists(job_id):
        return spool.jobs.record(job_id)
    if spool.incoming.holder(job_id) is not None:
        return incoming_record(spool, job_id)
    reason = spool.incoming.rejected_reason(job_id)
    if reason is not None:
        raise NotFound(f"job {job_id} was rejected: {reason}")
    raise NotFound(f"no job {job_id}")


def status(spool: Spool, job_id: str) -> dict:
    rec = record(spool, job_id)
    return {k: rec.get(k) for k in STATUS}


def summary(spool: Spool, job_id: str) -> dict | None:
    """The listing fields of one job, or None if it vanished meanwhile."""
    try:
        if spool.jobs.exists(job_id):
            rec = {k: spool.jobs.get(job_id, k) for k in SUMMARY if k not in ("id", "name")}
            rec["result"] = rec["result"] or None
            try:
                rec["name"] = spool.jobs.request(job_id).get("name", "")
            except (NotFound, ValueError):
                rec["name"] = ""
            rec["id"] = job_id
            return {k: rec[k] for k in SUMMARY}
        return {k: incoming_record(spool, job_id)[k] for k in SUMMARY}
    except NotFound:
        return None


def listing(spool: Spool, query, only_owner: str | None = None) -> list[dict]:
    """Jobs in id order, filtered by `state`, `node`, `name` and owner; paged by `after` and `limit`."""
    after = query.get("after")
    if after is not None:
        ids.check(after, "after id")
    limit = web.whole("limit", defaults.LIST_LIMIT, 0, defaults.LIST_LIMIT_MAX, query)
    wanted = {k: query.get(k) for k in ("state", "node", "name") if query.get(k) is not None}
    all_ids = sorted(set(spool.jobs.ids()) | set(spool.incoming.ids()))
    out = []
    for job_id in all_ids:
        if len(out) >= limit:
            break
        if after is not None and job_id <= after:
            continue
        if only_owner is not None and owner(spool, job_id) != only_owner:
            continue
        item = summary(spool, job_id)
        if item is None or any(str(item.get(k)) != v for k, v in wanted.items()):
            continue
        out.append(item)
    return out


def known(spool: Spool, job_id: str) -> bool:
    """True if the job exists, as a record or still in `incoming/` (alone, or in the file of
    a graph or array whose id its own starts with); an invalid id is not known."""
    return ids.valid(job_id) and (spool.jobs.exists(job_id) or spool.incoming.holder(job_id) is not None)


def owner(spool: Spool, job_id: str) -> str | None:
    """The name of the token that submitted the job (for a job still in incoming/, that of
    the file holding it); None if none was recorded or no such job."""
    if spool.jobs.exists(job_id):
        return spool.jobs.get(job_id, "owner")
    holder = spool.incoming.holder(job_id)
    try:
        request = parse_json(spool.incoming.read(holder)) if holder else {}
    except (OSError, BadRequest):
        return None
    value = request.get("owner")
    return value if ids.valid(value) else None
