"""Intake: turn each file in `incoming/` into job records and queue entries.

A file holds one job, or a whole graph or array (`graph.expand` makes its jobs, the
same ones each time). Crash order: each record appears whole (rename from tmp/), then
its `dependents`/`children` lines and queue entry; the incoming file goes only after
the last job it makes. A crash anywhere leaves the file, and the next pass redoes the
same steps, each of which is idempotent, so a graph is never left half made.
"""

from .. import crash
from ..errors import BadRequest
from ..graph import Member, expand, is_many
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
        file_id = pending.pop(0)
        try:
            members, owner = read(spool, file_id)
        except (BadRequest, OSError) as err:
            spool.incoming.reject(file_id, str(err))
            waiting_in_batch.discard(file_id)
            continue
        if _waits_on_batch(spool, file_id, members, waiting_in_batch) and deferred <= len(pending):
            pending.append(file_id)
            deferred += 1
            continue
        files = spool.incoming.files(file_id)  # a bundle and input belong to a single job
        for member in members:
            admit(spool, member, now, owner, files if member.id == file_id else None)
            taken.append(member.id)
        crash.point("intake.admitted")
        spool.incoming.done(file_id, files)
        waiting_in_batch.discard(file_id)
    return taken


def _waits_on_batch(spool: Spool, file_id: str, members: list[Member], batch: set[str]) -> bool:
    """True if a job of this file depends on one still in another file of this batch."""
    made = {m.id for m in members}
    for dep in {d for m in members for d in m.request["depends_on"]} - made:
        if not spool.jobs.exists(dep):
            holder = spool.incoming.holder(dep)
            if holder is not None and holder != file_id and holder in batch:
                return True
    return False


def read(spool: Spool, file_id: str) -> tuple[list[Member], str | None]:
    """The jobs the file `incoming/<file_id>.job` makes, each normalised, in creation order;
    and the name of the token that submitted them (the API writes it as `owner`)."""
    data = parse_json(spool.incoming.read(file_id))
    owner = data.pop("owner", None)
    if owner is not None:
        ids.check(owner, "owner")
    if data.get("request_id") not in (None, file_id):
        raise BadRequest(f"request_id {data['request_id']} differs from the file name")
    data["request_id"] = file_id
    if is_many(data):
        return expand(data, file_id)[0], owner
    request = normalise(data)
    if file_id in request["depends_on"]:
        raise BadRequest("a job cannot depend on itself")
    return [Member(file_id, request)], owner


def admit(spool: Spool, member: Member, now: float, owner: str | None = None,
          files: str | None = None) -> None:
    """Create the record (with its owner and the archives in `files`) in the state its
    dependencies (and parent) allow, and index it."""
    job_id, request = member.id, member.request
    verdict, reason = lifecycle.deps_verdict(spool, request["depends_on"])
    parent = request["parent"]
    if parent and spool.jobs.exists(parent) and lifecycle.kill_requested(spool, parent):
        verdict, reason = State.STOPPED, f"parent {parent} was killed"
    initial = State.QUEUED if verdict == State.QUEUED else State.WAITING
    spool.jobs.create(job_id, request, initial, now, owner, member.children, files)
    crash.point("intake.created")
    if parent and spool.jobs.exists(parent):
        spool.jobs.add_child(parent, job_id)
    state = spool.jobs.state(job_id)
    if state == State.WAITING:
        for dep in request["depends_on"]:
            if spool.jobs.exists(dep):
                spool.jobs.add_dependent(dep, job_id)
        if verdict == State.STOPPED:
            lifecycle.stop(spool, job_id, Result.CANCELLED, reason, now)
        elif verdict == State.QUEUED:  # taken again after a crash; its dependencies are done
            lifecycle.ready(spool, job_id, request, "dependencies done", now)
    elif state == State.QUEUED:
        lifecycle.ready(spool, job_id, request, "no dependencies", now)
