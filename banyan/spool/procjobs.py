"""Processor job folders: `processor/job/<id>/`, written by the processor and each job's supervisor.

A folder appears whole (built in tmp/, renamed). A new attempt of a known job first
moves the old attempt's files into `attempts/<n>/`, so `log` is always the last one's.
"""

import json
import os
import shutil

from ..errors import NotFound
from .atomic import read_text, tmp_name, write_text
from .paths import Layout

FIELDS = ("state", "status", "result", "pid", "exit-status", "signal", "started-at",
          "finished-at", "attempt", "usage", "progress")
KEEP = ("attempts",)
"""Entries that stay in place when an attempt is moved aside."""


class ProcessorJobs:
    def __init__(self, layout: Layout):
        self.layout = layout

    def dir(self, job_id: str) -> str:
        return self.layout.proc_job_dir(job_id)

    def path(self, job_id: str, name: str) -> str:
        return self.layout.proc_job_file(job_id, name)

    def exists(self, job_id: str) -> bool:
        return os.path.isdir(self.dir(job_id))

    def ids(self) -> list[str]:
        return sorted(n for n in os.listdir(self.layout.processor_jobs) if not n.startswith("."))

    def create(self, job_id: str, request: dict, attempt: int) -> bool:
        """Make the job's folder with `work/` and an empty `log`; False if it exists."""
        lay = self.layout
        final = self.dir(job_id)
        if os.path.isdir(final):
            return False
        stage = tmp_name(lay.tmp, final) + ".d"
        os.mkdir(stage)
        try:
            self._fill(stage, request, attempt)
            os.rename(stage, final)
        except OSError:
            shutil.rmtree(stage, ignore_errors=True)
            if os.path.isdir(final):
                return False
            raise
        return True

    def _fill(self, folder: str, request: dict, attempt: int) -> None:
        tmp = self.layout.tmp
        write_text(tmp, os.path.join(folder, "request.json"), json.dumps(request, sort_keys=True))
        write_text(tmp, os.path.join(folder, "attempt"), str(attempt))
        write_text(tmp, os.path.join(folder, "status"), "unknown")
        write_text(tmp, os.path.join(folder, "state"), "starting")
        os.makedirs(os.path.join(folder, "work"), exist_ok=True)
        open(os.path.join(folder, "log"), "ab").close()

    def new_attempt(self, job_id: str, request: dict, attempt: int) -> None:
        """Move the current attempt's files to attempts/<old>/ and start a fresh folder content."""
        final = self.dir(job_id)
        old = self.get(job_id, "attempt") or "0"
        aside = os.path.join(final, "attempts", old)
        os.makedirs(aside, exist_ok=True)
        for name in os.listdir(final):
            if name not in KEEP:
                os.rename(os.path.join(final, name), os.path.join(aside, name))
        self._fill(final, request, attempt)

    def get(self, job_id: str, field: str) -> str | None:
        return read_text(self.path(job_id, field))

    def put(self, job_id: str, field: str, value: object) -> None:
        write_text(self.layout.tmp, self.path(job_id, field), str(value))

    def request(self, job_id: str) -> dict:
        text = read_text(self.path(job_id, "request.json"))
        if text is None:
            raise NotFound(f"no job {job_id} on this node")
        return json.loads(text)

    def record(self, job_id: str) -> dict:
        """The job's status as the processor API answers it."""
        if not self.exists(job_id):
            raise NotFound(f"no job {job_id} on this node")
        rec: dict = {"id": job_id}
        for field in FIELDS:
            rec[field] = read_text(self.path(job_id, field))
        for key in ("pid", "exit-status", "attempt"):
            if rec[key] not in (None, ""):
                rec[key] = int(rec[key])
        return rec
