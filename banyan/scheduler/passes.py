"""One scheduler pass: recover → intake → follow → place. The unit cron and the daemon share.

A pass reads `incoming/`, `reports/`, `queue/` and `running/`, never the whole of
`jobs/`, so its cost follows the work there is to do, not the jobs ever run.
"""

import time
from dataclasses import dataclass, field

from .. import defaults
from ..spool import Spool
from ..states import State
from .follow import Follower
from .intake import intake
from . import lifecycle
from .lifecycle import queue_seq
from .nodeclient import NodeClients
from .place import Placer

RECOVER_EVERY = 60.0
"""Seconds between cleanups of `tmp/` and orphaned `incoming/` files in a long-running daemon."""


@dataclass
class PassReport:
    taken: list = field(default_factory=list)
    placed: list = field(default_factory=list)
    finished: list = field(default_factory=list)
    seconds: float = 0.0


class Scheduler:
    """Holds what survives between passes of one process: node connections, cached requests."""

    def __init__(self, spool: Spool, node_timeout: float = defaults.NODE_TIMEOUT,
                 tick: float = defaults.TICK, token: str | None = None,
                 backlog: float = defaults.BACKLOG):
        self.spool = spool
        self.clients = NodeClients(token)
        self.placer = Placer(spool, self.clients, backlog)
        self.follower = Follower(spool, self.clients, self.placer, node_timeout, tick)
        self._recovered_at = 0.0

    def run_pass(self, now: float | None = None, undisturbed: bool = False) -> PassReport:
        """Run one pass; the caller holds the pass lock, `undisturbed` if nobody else held
        it since this object's last pass (the records are as that pass left them)."""
        t0 = time.perf_counter()
        now = time.time() if now is None else now
        report = PassReport()
        with self.spool.jobs.memo(keep=undisturbed), self.spool.index.listed(keep=undisturbed):
            self.recover(now)
            report.taken = intake(self.spool, now)
            report.finished = self.follower.read_reports(now) + self.follower.poll(now)
            report.placed = self.placer.place(now)
        report.seconds = time.perf_counter() - t0
        return report

    def recover(self, now: float) -> None:
        """Mend what a crash between two steps left: index entries that disagree with `state`,
        and dependents not yet judged after their dependency stopped."""
        spool = self.spool
        lifecycle.finish_releases(spool, now)
        for job_id in spool.index.running():
            state = spool.jobs.get(job_id, "state")
            if state == State.QUEUED.value:  # crashed between the rename and `starting`
                req = self.placer.request(job_id)
                spool.index.enqueue(job_id, req["priority"], queue_seq(spool, job_id))
                spool.index.remove_running(job_id)
            elif state not in ("starting", "running", "suspended"):
                spool.index.remove_running(job_id)  # its dependents: `finish_releases` above
        if now - self._recovered_at < RECOVER_EVERY:
            return
        self._recovered_at = now
        spool.clean_tmp(now=now)
        spool.incoming.clean_orphans(now)  # stale queue entries are dropped by placement
