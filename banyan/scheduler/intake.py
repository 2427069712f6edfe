"""Intake: turn each file in `incoming/` into a job record and a queue entry.

Crash order: the record appears whole (rename from tmp/), then the dependents lines
and the queue entry, then the incoming file goes. A crash anywhere leaves the incoming
file, and the next pass redoes the same steps, each of which is idempotent.
"""

from .. import crash
from ..errors import BadRequest
from ..request import normalise, parse_json
from ..spool import Spool, ids
from ..states import Result, State
from . import lifecycle


def intake(spool: Spool, now: float) -> list[str]:
    """Take every waiting request; bad ones go to rejected/ with a reason. Returns new ids.

    A request whose dependency is itself still in `incoming/` is taken after it.
    """
    pending = spool.incoming.ids()
    waiting_in_batch = set(pending)
    taken: list[str] = []
    deferred = 0
    while pending:
        job_id = pending.pop(0)
        try:
            data = parse_json(spool.incoming.read(job_id))
            owner = data.pop("owner", None)
            if owner is not None:
                ids.check(owner, "owner")
            request = normalise(data)
            if request["request_id"] not in (None, job_id):
                raise BadRequest(f"request_id {request['request_id']} differs from the file name")
            if job_id in request["depends_on"]:
                raise BadRequest("a job cannot depend on itself")
        except (BadRequest, OSError) as err:
            spool.incoming.reject(job_id, str(err))
            waiting_in_batch.discard(job_id)
            continue
        if any(d in waiting_in_batch for d in request["depends_on"]) and deferred <= len(pending):
            pending.append(job_id)
            deferred += 1
            continue
        request["request_id"] = job_id
        admit(spool, job_id, request, now, owner, spool.incoming.files(job_id))
        crash.point("intake.admitted")
        spool.incoming.done(job_id)
        waiting_in_batch.discard(job_id)
        taken.append(job_id)
    return taken


def admit(spool: Spool, job_id: str, request: dict, now: float, owner: str | None = None,
          files: str | None = None) -> None:
    """Create the record (with its owner and the archives in `files`) in the state its
    dependencies allow, and index it."""
    verdict, reason = lifecycle.deps_verdict(spool, request["depends_on"])
    initial = State.QUEUED if verdict == State.QUEUED else State.WAITING
    spool.jobs.create(job_id, request, initial, now, owner, files)
    crash.point("intake.created")
    state = spool.jobs.state(job_id)
    if state == State.WAITING:
        for dep in request["depends_on"]:
            if spool.jobs.exists(dep):
                spool.jobs.add_dependent(dep, job_id)
        if verdict == State.STOPPED:
            lifecycle.stop(spool, job_id, Result.CANCELLED, reason, now)
    elif state == State.QUEUED:
        lifecycle.ready(spool, job_id, request, "no dependencies", now)
