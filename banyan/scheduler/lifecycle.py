"""The ends of a job's life: stop it with a result, retry it, cancel it and its dependents.

Crash order for a stop: write the result files and the `notify/` entry, then `state`
stopped (the commit), then remove the `running/` entry; recovery removes entries whose
job has stopped.
"""

import time

from .. import crash, timefmt
from ..errors import NotFound
from ..spool import Spool
from ..states import PENDING, Result, State, status_of


def stop(spool: Spool, job_id: str, result: Result, detail: str = "", now: float | None = None,
         exit_status: int | None = None) -> None:
    """Record the outcome and move the job to `stopped`; then release whatever waits on it."""
    now = time.time() if now is None else now
    jobs = spool.jobs
    if exit_status is not None:
        jobs.put(job_id, "exit-status", exit_status)
    jobs.put(job_id, "result", result.value)
    jobs.put(job_id, "status", status_of(result).value)
    jobs.put(job_id, "finished-at", timefmt.iso(now))
    if jobs.request(job_id).get("notify") and jobs.get(job_id, "state") != State.STOPPED.value:
        spool.notices.add(job_id)  # delivered off the pass, by scheduler/notify.py
    crash.point("stop.recorded")
    jobs.transition(job_id, State.STOPPED, result.value, detail, now)
    crash.point("stop.committed")
    spool.index.remove_running(job_id)
    spool.index.dequeue(job_id)
    release_dependents(spool, job_id, now)


def requeue(spool: Spool, job_id: str, event: str, detail: str, now: float) -> None:
    """Put a job that was on a node back in the queue (a retry, or a placement that failed)."""
    req = spool.jobs.request(job_id)
    spool.index.enqueue(job_id, req["priority"], queue_seq(spool, job_id))
    spool.jobs.transition(job_id, State.QUEUED, event, detail, now)
    spool.index.remove_running(job_id)


def queue_seq(spool: Spool, job_id: str) -> int:
    """A job keeps its place in line across retries: its sequence is its creation time."""
    created = timefmt.parse(spool.jobs.get(job_id, "created-at")) or time.time()
    return int(created * 1_000_000)


def cancel(spool: Spool, job_id: str, reason: str, now: float | None = None) -> bool:
    """Cancel a pending job (and, through `stop`, its dependents); False if it was not pending."""
    try:
        state = spool.jobs.state(job_id)
    except NotFound:
        return False
    if state not in PENDING:
        return False
    stop(spool, job_id, Result.CANCELLED, reason, now)
    return True


def deps_verdict(spool: Spool, deps: list[str]) -> tuple[State, str]:
    """QUEUED if every dependency stopped good, STOPPED (cancel) if one stopped error, else WAITING."""
    for dep in deps:
        if not spool.jobs.exists(dep):
            return State.STOPPED, f"dependency {dep} does not exist"
        if spool.jobs.get(dep, "state") != State.STOPPED.value:
            return State.WAITING, ""
        if spool.jobs.get(dep, "status") != "good":
            return State.STOPPED, f"dependency {dep} stopped with error"
    return State.QUEUED, ""


def release_dependents(spool: Spool, job_id: str, now: float) -> None:
    """Re-judge the jobs waiting on `job_id`: queue them, or cancel them when it failed."""
    text = spool.jobs.get(job_id, "dependents")
    for dep_id in (text.split("\n") if text else []):
        if not dep_id or spool.jobs.get(dep_id, "state") != State.WAITING.value:
            continue
        verdict, reason = deps_verdict(spool, spool.jobs.request(dep_id)["depends_on"])
        if verdict == State.QUEUED:
            ready(spool, dep_id, spool.jobs.request(dep_id), "dependencies done", now)
        elif verdict == State.STOPPED:
            stop(spool, dep_id, Result.CANCELLED, reason, now)


def ready(spool: Spool, job_id: str, request: dict, detail: str, now: float) -> None:
    """A job free to run: queue it, or, for a group (no commands), stop it good at once."""
    if not request["commands"]:
        stop(spool, job_id, Result.SUCCESS, "group: " + detail, now)
        return
    spool.index.enqueue(job_id, request["priority"], queue_seq(spool, job_id))
    if spool.jobs.state(job_id) != State.QUEUED:
        spool.jobs.transition(job_id, State.QUEUED, "queued", detail, now)
