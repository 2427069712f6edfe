"""How a processor runs jobs: the part of the processor that differs between backends.

A backend takes jobs the processor API accepted and keeps `processor/job/<id>/` true:
`local` runs them on this machine under a supervisor per attempt; `slurm` hands them to
a Slurm cluster with `sbatch`. What they share lives here: validating a request, and the
idempotency rule on (`request_id`, `attempt`) (SPEC §3), so the scheduler cannot tell
them apart.
"""

from ... import crash
from ... import request as requests
from ...errors import BadRequest, Conflict, NotFound
from ...spool import ids
from ...spool.procjobs import ProcessorJobs
from .. import attach

ACTIVE = ("starting", "running", "suspended")
JOB_FIELDS = ("name", "commands", "environment", "timeout", "kill_grace", "resources",
              "separate_stderr", "priority")


class Backend:
    """The processor API's view of a backend; subclasses launch, control and watch attempts."""

    name = ""

    def __init__(self, jobs: ProcessorJobs):
        self.jobs = jobs

    def accept(self, body: dict) -> dict:
        """Start `body` (a processor request) unless this attempt is known; its record."""
        job_id, attempt, job = parse(body)
        if self.jobs.create(job_id, job, attempt):
            crash.point("processor.created")
            self.launch(job_id, job)
            return self.created(job_id, attempt)
        known = int(self.jobs.get(job_id, "attempt") or 0)
        if known > attempt:
            raise Conflict(f"job {job_id} is already at attempt {known}")
        if known < attempt:
            self.retire(job_id)
            self.jobs.new_attempt(job_id, job, attempt)
            self.launch(job_id, job)
        elif self.jobs.get(job_id, "state") == "starting" and not self.launched(job_id):
            self.launch(job_id, job)  # a crash came between the folder and the launch
        return self.record(job_id)

    def launch(self, job_id: str, job: dict) -> None:
        """Start the attempt whose folder was just made (state `starting`); `job` is the
        request its folder holds, so that it need not be read back."""
        raise NotImplementedError

    def created(self, job_id: str, attempt: int) -> dict:
        """The record of an attempt this request just made and launched."""
        return self.record(job_id)

    def launched(self, job_id: str) -> bool:
        """True once `launch` has taken the current attempt, so a repeated request need not."""
        raise NotImplementedError

    def retire(self, job_id: str) -> None:
        """Stop what may still run of an older attempt before its files move aside."""
        raise NotImplementedError

    def record(self, job_id: str) -> dict:
        """The job's record as the processor API answers it (NotFound if unknown)."""
        raise NotImplementedError

    def records(self, wanted: list[str] | None) -> list[dict]:
        out = []
        for job_id in (self.jobs.ids() if wanted is None else wanted):
            try:
                out.append(self.record(job_id))
            except NotFound:
                continue
        return out

    def withdraw(self, job_id: str) -> dict:
        """Give back an attempt that waits on this node for cores (the scheduler moves it
        to a node that has them): its record, `cancelled`; Conflict if it has started."""
        raise Conflict(f"the {self.name} backend keeps no job waiting: {job_id} cannot be withdrawn")

    def control(self, job_id: str, action: str) -> dict:
        """`kill`, `suspend` or `continue` the job; its record (Conflict if its state forbids)."""
        raise NotImplementedError

    def recover(self) -> int:
        """At start: pick up what a crash left half done; how many attempts it launched."""
        raise NotImplementedError

    def health(self) -> dict:
        """`GET /processor/health`: capacity (cores, memory bytes, gpus), load, running jobs."""
        raise NotImplementedError

    def running(self) -> int:
        return sum(1 for j in self.jobs.ids() if self.jobs.get(j, "state") in ACTIVE)


def parse(body: dict) -> tuple[str, int, dict]:
    """Check a processor request: (job id, attempt, the normalised job fields)."""
    if not isinstance(body, dict):
        raise BadRequest("a job is a JSON object")
    job_id = ids.check(body.get("request_id"), "request_id")
    attempt = body.get("attempt", 1)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise BadRequest("attempt must be a positive integer")
    unknown = set(body) - set(JOB_FIELDS) - {"request_id", "attempt", "files"}
    if unknown:
        raise BadRequest(f"unknown field {sorted(unknown)[0]}")
    normalised = requests.normalise({k: body[k] for k in JOB_FIELDS if k in body}, system=True)
    job = {k: normalised[k] for k in JOB_FIELDS}
    if "files" in body:
        job["files"] = attach.check_files(body["files"])
    return job_id, attempt, job


def control_applies(state: str, action: str, job_id: str) -> bool:
    """Whether `action` applies to a job in `state`: False for a kill of a stopped job (a no-op)."""
    if state == "stopped":
        if action == "kill":
            return False
        raise Conflict(f"job {job_id} has stopped")
    if action == "suspend" and state != "running":
        raise Conflict(f"job {job_id} is {state}, not running")
    if action == "continue" and state != "suspended":
        raise Conflict(f"job {job_id} is {state}, not suspended")
    return True
