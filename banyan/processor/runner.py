"""What the processor does with jobs: accept them (idempotently), control them, recover.

The processor writes a job's files only when no supervisor holds the attempt's lock:
to create an attempt, or to record one as `lost` when its supervisor vanished.
Everything else about a running attempt is its supervisor's to write.
"""

import os
import signal
import time

from .. import crash, timefmt
from .. import request as requests
from ..errors import BadRequest, Conflict, NotFound
from ..spool import ids
from ..spool.procjobs import ProcessorJobs
from . import attach, proctree
from .launcher import Launcher

ACTIVE = ("starting", "running", "suspended")
JOB_FIELDS = ("name", "commands", "environment", "timeout", "kill_grace", "resources",
              "separate_stderr")
CONTROL_WAIT = 2.0
"""Seconds a suspend or continue waits for the supervisor to act before answering."""


class Runner:
    def __init__(self, jobs: ProcessorJobs, launcher: Launcher):
        self.jobs = jobs
        self.launcher = launcher

    def accept(self, body: dict) -> dict:
        """Start `body` (a processor request) unless this attempt is known; its record."""
        if not isinstance(body, dict):
            raise BadRequest("a job is a JSON object")
        job_id = ids.check(body.get("request_id"), "request_id")
        attempt = body.get("attempt", 1)
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            raise BadRequest("attempt must be a positive integer")
        unknown = set(body) - set(JOB_FIELDS) - {"request_id", "attempt", "files"}
        if unknown:
            raise BadRequest(f"unknown field {sorted(unknown)[0]}")
        job = requests.normalise({k: body[k] for k in JOB_FIELDS if k in body}, system=True)
        job = {k: job[k] for k in JOB_FIELDS}
        if "files" in body:
            job["files"] = attach.check_files(body["files"])
        if self.jobs.create(job_id, job, attempt):
            crash.point("processor.created")
            self.launcher.launch(job_id)
            return self.jobs.record(job_id)
        known = int(self.jobs.get(job_id, "attempt") or 0)
        if known > attempt:
            raise Conflict(f"job {job_id} is already at attempt {known}")
        if known < attempt:
            self._retire(job_id)
            self.jobs.new_attempt(job_id, job, attempt)
            self.launcher.launch(job_id)
        elif self.jobs.get(job_id, "state") == "starting" and not self.jobs.supervised(job_id):
            self.launcher.launch(job_id)  # a crash came between the folder and the launch
        return self.record(job_id)

    def _retire(self, job_id: str) -> None:
        """Stop what may still run of an older attempt before its files move aside."""
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

    def records(self, wanted: list[str] | None) -> list[dict]:
        out = []
        for job_id in (self.jobs.ids() if wanted is None else wanted):
            try:
                out.append(self.record(job_id))
            except NotFound:
                continue
        return out

    def control(self, job_id: str, action: str) -> dict:
        """kill, suspend or continue: ask the supervisor through `control` and SIGUSR1."""
        state = self.record(job_id)["state"]
        if state == "stopped":
            if action == "kill":
                return self.record(job_id)
            raise Conflict(f"job {job_id} has stopped")
        if action == "suspend" and state != "running":
            raise Conflict(f"job {job_id} is {state}, not running")
        if action == "continue" and state != "suspended":
            raise Conflict(f"job {job_id} is {state}, not suspended")
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

    def running(self) -> int:
        return sum(1 for j in self.jobs.ids() if self.jobs.get(j, "state") in ACTIVE)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
