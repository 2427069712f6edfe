"""The ends of a job's life: stop it with a result, retry it, cancel it and its dependents.

Crash order for a stop: a `releasing/` entry if the job has dependents, the result
files and the `notify/` entry, `state` stopped (the commit), the removal of its queue or running entry; then
each dependent is judged (and those to stop are stopped the same way), and only then
the `releasing/` entry goes. The pass's recovery finishes what a crash interrupted:
`finish_releases` judges again the dependents of every job left in `releasing/`.

Stops cascade through a work list, not recursion, so a chain 10,000 deep is fine; and
each stop costs in proportion to the dependents of the job that stopped, never the graph.
"""

import time

from .. import crash, timefmt
from ..errors import NotFound
from ..spool import Spool
from ..spool.queue import entry_name
from ..states import PENDING, Result, State, status_of

_judged: dict[str, tuple[list[str], int]] = {}
"""Per waiting job (keyed by its folder): its dependencies, and how many of the first ones
stopped good. Stopped and good are final, so the count stays true in any process that
reads it; it turns re-judging a group of N jobs, once per job that ends, from N² reads
into N. Lost on restart, it is rebuilt from `depends-on` at the next re-judging."""


def stop(spool: Spool, job_id: str, result: Result, detail: str = "", now: float | None = None,
         exit_status: int | None = None) -> None:
    """Record the outcome and move the job to `stopped`; then release whatever waits on it."""
    now = time.time() if now is None else now
    if _record_stop(spool, job_id, result, detail, now, exit_status):
        _cascade(spool, [job_id], now)


def finish_releases(spool: Spool, now: float) -> None:
    """Judge the dependents of jobs whose stop a crash interrupted (see the crash order)."""
    stopped = []
    for job_id in spool.index.releasing():
        if spool.jobs.get(job_id, "state") == State.STOPPED.value:
            stopped.append(job_id)
        else:  # the crash came before the stop was committed: the job has not stopped
            spool.index.released(job_id)
    _cascade(spool, stopped, now)


def _cascade(spool: Spool, pending: list[str], now: float) -> None:
    while pending:
        one = pending.pop()
        for dep, result, why in release_dependents(spool, one, now):
            if _record_stop(spool, dep, result, why, now, None):
                pending.append(dep)
        spool.index.released(one)


def _record_stop(spool: Spool, job_id: str, result: Result, detail: str, now: float,
                 exit_status: int | None) -> bool:
    """Record the stop; True if the job has dependents to judge next (`_cascade`)."""
    jobs = spool.jobs
    waited_on = jobs.has(job_id, "dependents")  # added only under the pass lock, which we hold
    if waited_on:
        spool.index.mark_releasing(job_id)
    if exit_status is not None:
        jobs.put(job_id, "exit-status", exit_status)
    jobs.put(job_id, "result", result.value)
    jobs.put(job_id, "status", status_of(result).value)
    jobs.put(job_id, "finished-at", timefmt.iso(now))
    if jobs.request(job_id).get("notify") and jobs.get(job_id, "state") != State.STOPPED.value:
        spool.notices.add(job_id)  # delivered off the pass, by scheduler/notify.py
    crash.point("stop.recorded")
    old = jobs.transition(job_id, State.STOPPED, result.value, detail, now)
    crash.point("stop.committed")
    if old in (State.STARTING, State.RUNNING, State.SUSPENDED):
        spool.index.remove_running(job_id)
    elif old == State.QUEUED:
        spool.index.dequeue(job_id, queue_entry(spool, job_id))
    _judged.pop(spool.layout.job_dir(job_id), None)
    return waited_on


def requeue(spool: Spool, job_id: str, event: str, detail: str, now: float) -> None:
    """Put a job that was on a node back in the queue (a retry, or a placement that failed)."""
    spool.index.enqueue(job_id, spool.jobs.request(job_id)["priority"], queue_seq(spool, job_id))
    spool.jobs.transition(job_id, State.QUEUED, event, detail, now)
    spool.index.remove_running(job_id)


def queue_seq(spool: Spool, job_id: str) -> int:
    """A job keeps its place in line across retries: its sequence is its creation time."""
    created = timefmt.parse(spool.jobs.get(job_id, "created-at")) or time.time()
    return int(created * 1_000_000)


def queue_entry(spool: Spool, job_id: str) -> str:
    """The name of the job's `queue/` entry, found without listing the folder."""
    return entry_name(job_id, spool.jobs.request(job_id)["priority"], queue_seq(spool, job_id))


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
    """QUEUED if every dependency stopped good, STOPPED (cancel) if one stopped error or does
    not exist, else WAITING. Reads every dependency: this is for a job being admitted."""
    verdict, reason = State.QUEUED, ""
    for dep in deps:
        state = spool.jobs.get(dep, "state")
        if state is None:
            return State.STOPPED, f"dependency {dep} does not exist"
        if state != State.STOPPED.value:
            verdict = State.WAITING
        elif spool.jobs.get(dep, "status") != "good":
            return State.STOPPED, f"dependency {dep} stopped with error"
    return verdict, reason


def _rejudge(spool: Spool, job_id: str) -> tuple[State, str]:
    """`deps_verdict` for a waiting job, resuming after the dependencies known to be done.

    A dependency that stopped with error has already cancelled this job when it stopped,
    so the first one not yet stopped decides that the job still waits.
    """
    key = spool.layout.job_dir(job_id)
    deps, done = _judged.get(key) or (spool.jobs.lines(job_id, "depends-on"), 0)
    for i in range(done, len(deps)):
        state = spool.jobs.get(deps[i], "state")
        if state is None:
            verdict = State.STOPPED, f"dependency {deps[i]} does not exist"
        elif state != State.STOPPED.value:
            _judged[key] = (deps, i)
            return State.WAITING, ""
        elif spool.jobs.get(deps[i], "status") != "good":
            verdict = State.STOPPED, f"dependency {deps[i]} stopped with error"
        else:
            continue
        _judged.pop(key, None)
        return verdict
    _judged.pop(key, None)
    return State.QUEUED, ""


def release_dependents(spool: Spool, job_id: str, now: float) -> list[tuple[str, Result, str]]:
    """Re-judge the jobs waiting on `job_id`: queue those now free, and return the stops that
    follow (cancel when it failed; `success` for a group whose dependencies are all done).

    A held dependent stays held when it becomes free (release decides), but is cancelled
    when a dependency fails, as a waiting one is: it could never run.
    """
    stops = []
    for dep_id in spool.jobs.lines(job_id, "dependents"):
        state = spool.jobs.get(dep_id, "state")
        if state not in (State.WAITING.value, State.HELD.value):
            continue
        verdict, reason = _rejudge(spool, dep_id)
        if verdict == State.STOPPED:
            stops.append((dep_id, Result.CANCELLED, reason))
        elif verdict == State.QUEUED and state == State.WAITING.value:
            request = spool.jobs.request(dep_id)
            if request["commands"]:
                enqueue(spool, dep_id, request, "dependencies done", now)
            else:
                stops.append((dep_id, Result.SUCCESS, "group: dependencies done"))
    return stops


def ready(spool: Spool, job_id: str, request: dict, detail: str, now: float) -> None:
    """A job free to run: queue it, or, for a group (no commands), stop it good at once."""
    if not request["commands"]:
        stop(spool, job_id, Result.SUCCESS, "group: " + detail, now)
        return
    enqueue(spool, job_id, request, detail, now)


def enqueue(spool: Spool, job_id: str, request: dict, detail: str, now: float) -> None:
    spool.index.enqueue(job_id, request["priority"], queue_seq(spool, job_id))
    if spool.jobs.state(job_id) != State.QUEUED:
        spool.jobs.transition(job_id, State.QUEUED, "queued", detail, now)


def kill_requested(spool: Spool, job_id: str) -> bool:
    """True once a user asked to kill the job: its children are then to be killed too."""
    return spool.jobs.count_events(job_id, "kill-requested") > 0
