"""The node's cores, memory and gpus, and the attempts waiting on the node for them.

The scheduler may send a node more than it can run at once (its backlog, see the
scheduler's placement), so that a core that frees up starts the next attempt at once
instead of after a round trip through the scheduler (HTCondor reuses a claimed slot
for the same reason). Attempts start in the scheduler's order, higher `priority` first,
then first come, first served, each when its resources fit in what the running ones
leave free: a job of higher priority sent later overtakes the ones waiting here, so a
longer backlog never delays it more than one that frees a core.
"""

import itertools
import threading

from .. import capacity


class Slots:
    def __init__(self, capacity: dict):
        self.capacity = {k: capacity[k] for k in ("cores", "memory", "gpus")}
        self._waiting: dict[str, tuple[int, int, dict]] = {}  # id → (-priority, arrival, resources)
        self._arrivals = itertools.count()
        self._holding: dict[str, dict] = {}
        self._lock = threading.Lock()

    def wait(self, job_id: str, resources: dict, priority: int = 0) -> None:
        with self._lock:
            if job_id not in self._holding and job_id not in self._waiting:
                self._waiting[job_id] = (-priority, next(self._arrivals), resources)

    def hold(self, job_id: str, resources: dict) -> None:
        """Count an attempt that runs already (found at start)."""
        with self._lock:
            self._waiting.pop(job_id, None)
            self._holding[job_id] = resources

    def take(self) -> list[str]:
        """The waiting attempts that may start now, in order; they hold their resources."""
        started = []
        with self._lock:
            free = dict(self.capacity)
            for res in self._holding.values():
                for k in free:
                    free[k] -= res[k]
            for job_id in sorted(self._waiting, key=self._waiting.__getitem__):
                res = self._waiting[job_id][2]
                if not self._fits(res, free):
                    break
                for k in free:
                    free[k] -= res[k]
                started.append(job_id)
            for job_id in started:
                self._holding[job_id] = self._waiting.pop(job_id)[2]
        return started

    def _fits(self, res: dict, free: dict) -> bool:
        """Fits what is free; one larger than the whole node runs alone rather than never."""
        return free == self.capacity or capacity.fits(res, free, self.capacity["memory"])

    def release(self, job_id: str) -> None:
        with self._lock:
            self._holding.pop(job_id, None)

    def drop(self, job_id: str) -> bool:
        """Forget a waiting attempt (killed, or replaced by a newer one); True if it waited."""
        with self._lock:
            return self._waiting.pop(job_id, None) is not None

    def knows(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._waiting or job_id in self._holding

    def holding(self) -> list[str]:
        with self._lock:
            return list(self._holding)
