"""The local backend: each job attempt runs on this machine under its own supervisor.

The processor writes a job's files only when no supervisor holds the attempt's lock:
to create an attempt, or to record one as `lost` when its supervisor vanished.
Everything else about a running attempt is its supervisor's to write (supervise.py);
supervisors are forked by the launcher (launcher.py).
"""

import os
import signal
import time

import psutil

from ... import timefmt
from ...errors import Conflict, NotFound
from ...spool.procjobs import ProcessorJobs
from .. import proctree
from ..launcher import Launcher
from . import Backend, control_applies

CONTROL_WAIT = 2.0
"""Seconds a suspend or continue waits for the supervisor to act before answering."""


class LocalBackend(Backend):
    name = "local"

    def __init__(self, jobs: ProcessorJobs, launcher: Launcher):
        super().__init__(jobs)
        self.launcher = launcher

    def launch(self, job_id: str) -> None:
        self.launcher.launch(job_id)

    def launched(self, job_id: str) -> bool:
        return self.jobs.supervised(job_id)

    def retire(self, job_id: str) -> None:
        if not self.jobs.supervised(job_id):
            return
        supervisor, pid = (_int(self.jobs.get(job_id, f)) for f in ("supervisor", "pid"))
        if supervisor and pid and proctree.child_of(pid, supervisor):  # not a reused pid
            proctree.send(pid, signal.SIGKILL)
        if supervisor:
            try:
                os.kill(supervisor, signal.SIGKILL)  # the lock is held, so this pid is its holder
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + CONTROL_WAIT
        while self.jobs.supervised(job_id):
            if time.monotonic() > deadline:
                raise Conflict(f"the previous attempt of {job_id} is still stopping")
            time.sleep(0.02)

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
        self.jobs.put(job_id, "control", action)
        supervisor = _int(self.jobs.get(job_id, "supervisor"))
        if supervisor and self.jobs.supervised(job_id):  # the lock's holder wrote `supervisor`
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

    def recover(self) -> int:
        """At start: launch attempts a crash left unlaunched, and find the lost ones."""
        launched = 0
        for job_id in self.jobs.ids():
            try:
                state = self.jobs.get(job_id, "state")
                if state == "starting" and not self.jobs.supervised(job_id):
                    self.launcher.launch(job_id)
                    launched += 1
                elif state in ("running", "suspended"):
                    self.record(job_id)
            except (NotFound, ValueError):
                continue
        return launched

    def health(self) -> dict:
        return {"backend": self.name, "cores": os.cpu_count() or 1,
                "memory": psutil.virtual_memory().total, "gpus": 0,
                "load": os.getloadavg()[0], "running": self.running()}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
