"""`banyan gc`: remove what stopped longer ago than the retention (Slurm's MinJobAge, for folders).

A job's artifacts live in its folder on its node, so they stay until this removes that
folder. It removes what is in the state folder it is given: scheduler records (with
their bundle and input), processor folders (log, work/, artifacts), and `rejected/`
files. Run it from cron on the scheduler's state folder and on each node's. A job
whose notification is still being delivered, or that a supervisor still holds, stays.
"""

import time

from . import defaults, timefmt
from .errors import NotFound
from .spool import Spool
from .spool.lock import hold
from .states import State

LOCK_WAIT = 30.0


def collect(spool: Spool, older_than: float = defaults.RETENTION, now: float | None = None,
            dry_run: bool = False) -> list[str]:
    """Remove (or with `dry_run` only list) what is past retention; `<kind> <id>` per item."""
    now = time.time() if now is None else now
    cutoff = now - older_than
    removed = []
    lock = spool.pass_lock()
    hold(lock, LOCK_WAIT)  # a pass never sees a record vanish under it
    try:
        for job_id in spool.jobs.ids():
            if (spool.jobs.get(job_id, "state") == State.STOPPED.value
                    and _before(spool.jobs.get(job_id, "finished-at"), cutoff)
                    and not spool.notices.has(job_id)):
                removed.append(f"scheduler {job_id}")
                if not dry_run:
                    _quietly(spool.jobs.remove, job_id)
    finally:
        lock.release()
    for job_id in spool.processor.ids():
        if (spool.processor.get(job_id, "state") == "stopped"
                and _before(spool.processor.get(job_id, "finished-at"), cutoff)
                and not spool.processor.supervised(job_id)):
            removed.append(f"processor {job_id}")
            if not dry_run:
                _quietly(spool.processor.remove, job_id)
    for job_id in spool.incoming.rejected_ids():
        if spool.incoming.rejected_mtime(job_id) < cutoff:
            removed.append(f"rejected {job_id}")
            if not dry_run:
                spool.incoming.remove_rejected(job_id)
    return removed


def _before(iso: str | None, cutoff: float) -> bool:
    t = timefmt.parse(iso)
    return t is not None and t < cutoff


def _quietly(remove, job_id: str) -> None:
    try:
        remove(job_id)
    except (FileNotFoundError, NotFound):
        pass  # gone meanwhile (another gc)
