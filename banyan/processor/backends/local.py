"""The local backend: each job attempt runs on this machine under its own supervisor.

The processor writes a job's files only when no supervisor holds the attempt's lock:
to create an attempt, to record one as `lost` when its supervisor vanished, or one
`killed` while it waited for cores. Everything else about a running attempt is its
supervisor's to write (supervise.py); supervisors come from the launcher (launcher.py),
as soon as the attempt's resources are free (slots.py).
"""

import os
import signal
import time

import psutil

from ... import timefmt
from ...errors import Conflict, NotFound
from ...spool.procjobs import HOLD_WAIT, ProcessorJobs
from .. import proctree
from ..launcher import Launcher
from ..reporter import Reporter
from ..slots import Slots
from . import Backend, control_applies

CONTROL_WAIT = 2.0
"""Seconds a suspend or continue waits for the supervisor to act before answering."""


class LocalBackend(Backend):
    name = "local"

    def __init__(self, jobs: ProcessorJobs, launcher: Launcher, reporter: Reporter,
                 cores: int | None = None, memory: int | None = None, gpus: int | None = None):
        """The node's size is the machine's unless `cores`, `memory` or `gpus` say otherwise."""
        super().__init__(jobs)
        self.launcher = launcher
        self.reporter = reporter
        self.slots = Slots({"cores": cores or os.cpu_count() or 1,
                            "memory": psutil.virtual_memory().total if memory is None else memory,
                            "gpus": gpus or 0})

    def launch(self, job_id: str, job: dict) -> None:
        self._wait(job_id, job)
        self._start()

    def _wait(self, job_id: str, job: dict) -> None:
        self.slots.wait(job_id, job["resources"], job.get("priority", 0))  # older folders have none

    def _start(self) -> None:
        for job_id in self.slots.take():
            self.launcher.launch(job_id)

    def ended(self, job_id: str) -> None:
        """A supervisor says the attempt stopped: its resources go to the next that waits."""
        self.slots.release(job_id)
        self._start()

    def tick(self) -> None:
        """Free the resources of attempts that stopped unheard: their supervisor reported
        to an earlier processor, or died (then the attempt is `lost`)."""
        freed = False
        for job_id in self.slots.holding():
            try:
                if not self.jobs.supervised(job_id) and self.record(job_id)["state"] != "starting":
                    self.slots.release(job_id)
                    freed = True
            except NotFound:
                self.slots.release(job_id)
                freed = True
        if freed:
            self._start()

    def launched(self, job_id: str) -> bool:
        return self.slots.knows(job_id) or self.jobs.supervised(job_id)

    def created(self, job_id: str, attempt: int) -> dict:
        """As the folder was made (`starting`): the supervisor may have moved on already,
        and the scheduler learns that from its report."""
        return self.jobs.fresh_record(job_id, attempt)

    def retire(self, job_id: str) -> None:
        """Kill the attempt's command tree; its supervisor then records the end and lets go
        of the lock. Only a supervisor that does not is killed itself: a supervisor runs
        attempt after attempt, so its pid is no proof of which one it runs by then."""
        if self.slots.drop(job_id) or not self.jobs.supervised(job_id):
            return
        supervisor, pid = (_int(self.jobs.get(job_id, f)) for f in ("lock", "pid"))
        if supervisor and pid and proctree.child_of(pid, supervisor):  # not a reused pid
            proctree.send(pid, signal.SIGKILL)
        if self._wait_free(job_id, CONTROL_WAIT / 2):
            return
        if supervisor and self.jobs.supervised(job_id):
            try:
                os.kill(supervisor, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not self._wait_free(job_id, CONTROL_WAIT / 2):
            raise Conflict(f"the previous attempt of {job_id} is still stopping")

    def _wait_free(self, job_id: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.jobs.supervised(job_id):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def record(self, job_id: str) -> dict:
        """The job's record, after noticing a supervisor that vanished (`lost`)."""
        rec = self.jobs.record(job_id)
        if rec["state"] in ("running", "suspended"):
            fd = self.jobs.hold(job_id)
            if fd is not None:
                try:
                    if self.jobs.get(job_id, "state") in ("running", "suspended"):
                        self._lost(job_id)
                finally:
                    os.close(fd)
                rec = self.jobs.record(job_id)
        return rec

    def _lost(self, job_id: str) -> None:
        self.jobs.log_line(job_id, "the job's supervisor vanished; the attempt is lost")
        self.jobs.put(job_id, "result", "lost")
        self.jobs.put(job_id, "status", "error")
        self.jobs.put(job_id, "finished-at", timefmt.iso(time.time()))
        self.jobs.put(job_id, "state", "stopped")

    def control(self, job_id: str, action: str) -> dict:
        """kill, suspend or continue: ask the supervisor through `control` and SIGUSR1."""
        if not control_applies(self.record(job_id)["state"], action, job_id):
            return self.record(job_id)
        if action == "kill" and self.slots.drop(job_id):
            rec = self._end_waiting(job_id, "killed", "killed before it started")
            if rec:
                self.reporter.tell(rec)
                return rec
        self.jobs.put(job_id, "control", action)
        supervisor = _int(self.jobs.get(job_id, "lock"))  # trusted only while the lock is held
        if supervisor and self.jobs.supervised(job_id):  # the lock's holder wrote its pid there
            try:
                os.kill(supervisor, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        if action != "kill":
            target = "suspended" if action == "suspend" else "running"
            deadline = time.monotonic() + CONTROL_WAIT
            while self.jobs.get(job_id, "state") not in (target, "stopped"):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        return self.record(job_id)

    def withdraw(self, job_id: str) -> dict:
        self.record(job_id)  # NotFound for an unknown job
        rec = self.slots.drop(job_id) and self._end_waiting(
            job_id, "cancelled", "withdrawn before it started: it goes to another node")
        if not rec:
            raise Conflict(f"job {job_id} is not waiting for cores on this node")
        return rec

    def _end_waiting(self, job_id: str, result: str, why: str) -> dict | None:
        """Record the end of an attempt dropped while it waited for cores; None if a
        supervisor has it after all (one of an earlier processor's)."""
        fd = self.jobs.hold(job_id, wait=HOLD_WAIT)
        if fd is None:
            return None
        try:
            self.jobs.log_line(job_id, why)
            self.jobs.put(job_id, "result", result)
            self.jobs.put(job_id, "status", "error")
            self.jobs.put(job_id, "finished-at", timefmt.iso(time.time()))
            self.jobs.put(job_id, "state", "stopped")
        finally:
            os.close(fd)
        return self.record(job_id)

    def recover(self) -> int:
        """At start: count what still runs, find the lost ones, and launch (as cores allow)
        the attempts a crash left unlaunched, oldest first."""
        launched = 0
        for job_id in self.jobs.ids():
            try:
                state = self.jobs.get(job_id, "state")
                if state == "starting" and not self.jobs.supervised(job_id):
                    self._wait(job_id, self.jobs.request(job_id))
                    launched += 1
                elif state in ("running", "suspended") and self.record(job_id)["state"] != "stopped":
                    self.slots.hold(job_id, self.jobs.request(job_id)["resources"])
            except (NotFound, ValueError):
                continue
        self._start()
        return launched

    def health(self) -> dict:
        return {"backend": self.name, **self.slots.capacity,
                "load": os.getloadavg()[0], "running": self.running()}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
