"""Processor job folders: `processor/job/<id>/`, written by the processor and each job's supervisor.

A folder appears whole (built in tmp/, renamed). A new attempt of a known job is built
the same way; the old attempt's folder becomes its `attempts/<n>/` inside it, so `log`
is always the last attempt's. Each attempt has a `lock` file that its supervisor holds
(flock) for its whole life: the kernel drops it when the supervisor dies, even by -9,
so "is the lock free?" is the proof that nobody is running the attempt (nq's rule). The
supervisor writes its pid into that file as it takes it (`cat lock`), where the
processor finds whom to signal: one write to a file it holds open, not an atomic write
of a file of its own (`supervisor`, as it was, cost a job three more system calls).
"""

import fcntl
import io
import json
import os
import shutil
import stat
import time

from .. import defaults
from ..errors import NotFound
from ..jsontext import sorted_text
from .atomic import append_line, pid, read_text, tmp_name, write_staged, write_text
from .paths import Layout

FIELDS = ("state", "status", "result", "pid", "exit-status", "signal", "started-at",
          "finished-at", "attempt", "usage", "progress")
INTEGERS = ("pid", "exit-status", "attempt")
HOLD_POLL = 0.001
"""Seconds between tries of a lock held for a moment."""
HOLD_WAIT = 0.5
"""Seconds a writer that must hold an attempt's lock tries for it: `supervised` probes
hold it for microseconds, a supervisor for the attempt's whole life."""
PROGRESS_MAX = 4096
"""Bytes of `progress` read at most: the job writes that file itself (SPEC §5)."""


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
        """Make the job's folder with `work/`, an empty `log` and a `lock`; False if it exists."""
        final = self.dir(job_id)
        if os.path.isdir(final):
            return False
        stage = self._stage(final, request, attempt)
        try:
            os.rename(stage, final)
        except OSError:
            shutil.rmtree(stage, ignore_errors=True)
            if os.path.isdir(final):
                return False
            raise
        return True

    def new_attempt(self, job_id: str, request: dict, attempt: int) -> None:
        """Replace the folder by a fresh one for `attempt`; the old one becomes attempts/<old>/.

        The caller has made sure no supervisor holds the old attempt's lock. A crash in
        between leaves either the old folder or the new one in place, never a mixture.
        """
        final = self.dir(job_id)
        old = self.get(job_id, "attempt") or "0"
        stage = self._stage(final, request, attempt)
        earlier = os.path.join(final, "attempts")
        if os.path.isdir(earlier):
            os.rename(earlier, os.path.join(stage, "attempts"))
        else:
            os.mkdir(os.path.join(stage, "attempts"))
        os.rename(final, os.path.join(stage, "attempts", old))
        os.rename(stage, final)

    def _stage(self, final: str, request: dict, attempt: int) -> str:
        stage = tmp_name(self.layout.tmp, final) + ".d"
        os.mkdir(stage)
        try:
            write_staged(os.path.join(stage, "request.json"), sorted_text(request))
            write_staged(os.path.join(stage, "attempt"), str(attempt))
            write_staged(os.path.join(stage, "status"), "unknown")
            write_staged(os.path.join(stage, "state"), "starting")
            os.mkdir(os.path.join(stage, "work"))
            for name in ("log", "lock"):  # empty, made with no file object (5 system calls fewer)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                os.close(os.open(os.path.join(stage, name), flags, 0o644))
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        return stage

    def fresh_record(self, job_id: str, attempt: int) -> dict:
        """The record of an attempt as `_stage` makes its folder, without reading it back."""
        return {f: None for f in FIELDS} | {"id": job_id, "state": "starting",
                                             "status": "unknown", "attempt": attempt}

    def remove(self, job_id: str) -> None:
        """Delete the job's folder (all attempts, artifacts included): renamed into tmp/, then removed."""
        gone = tmp_name(self.layout.tmp, self.dir(job_id)) + ".gc"
        os.rename(self.dir(job_id), gone)
        shutil.rmtree(gone, ignore_errors=True)

    def get(self, job_id: str, field: str) -> str | None:
        if field == "progress":
            return _read_progress(self.path(job_id, field))
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
            rec[field] = self.get(job_id, field)
        for key in INTEGERS:
            if rec[key] not in (None, ""):
                try:
                    rec[key] = int(rec[key])
                except ValueError:
                    rec[key] = None
        return rec

    # The supervisor's lock.

    def hold(self, job_id: str, wait: float = 0.0) -> int | None:
        """Take the attempt's lock: its fd (keep it open), or None if it is still held after
        `wait` seconds. A supervisor waits a little: `supervised` probes the lock by taking
        it for a moment, and a probe that met a new supervisor's first try would otherwise
        keep that attempt from ever starting (it stayed `starting`, its cores taken)."""
        try:
            fd = os.open(self.path(job_id, "lock"), os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(HOLD_POLL)

    def sign(self, fd: int) -> None:
        """Write this process's pid into the lock it just took (`hold`): the attempt's file is
        new and empty, and a pid is a few bytes at offset 0, so a reader sees all or none."""
        os.pwrite(fd, b"%d\n" % pid(), 0)

    def supervised(self, job_id: str) -> bool:
        """True while a supervisor holds the attempt's lock."""
        fd = self.hold(job_id)
        if fd is None:
            return os.path.exists(self.path(job_id, "lock"))
        os.close(fd)
        return False

    # What the job and its users add while it runs.

    def log_line(self, job_id: str, text: str) -> None:
        """A line from Banyan itself in the job's log (`banyan: ...`), like a command's output."""
        append_line(self.path(job_id, "log"), f"banyan: {text}")

    def read_log(self, job_id: str, offset: int, limit: int = defaults.LOG_CHUNK,
                 tail: int | None = None) -> tuple[bytes, int]:
        """Up to `limit` bytes of the log after `offset` (or of its last `tail` bytes), and
        the offset after them."""
        if not self.exists(job_id):
            raise NotFound(f"no job {job_id} on this node")
        with open_regular(self.path(job_id, "log")) as f:
            size = f.seek(0, os.SEEK_END)
            if tail is not None:
                offset = max(offset, size - tail)
            f.seek(offset)
            # what is there now, no more: read(limit) allocates 1 MiB per poll
            data = f.read(min(limit, size - offset)) if size > offset else b""
        return data, offset + len(data)

    def set_progress(self, job_id: str, percent: float, message: str) -> None:
        text = f"{percent:g} {message}".strip().replace("\n", " ")
        self.put(job_id, "progress", text)


def _regular_fd(path: str) -> int | None:
    """An fd to read `path`, a file the job can replace (it runs with our uid), or None if
    it is missing or not a regular file: never through a link, and never a FIFO or a
    device, which would hang or flood the reader."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:  # none, or a link (ELOOP)
        return None
    if stat.S_ISREG(os.fstat(fd).st_mode):
        return fd
    os.close(fd)
    return None


def open_regular(path: str):
    """`path` as a binary file object by `_regular_fd`'s rules; empty when that finds none."""
    fd = _regular_fd(path)
    return io.BytesIO() if fd is None else os.fdopen(fd, "rb")


def _read_progress(path: str) -> str | None:
    """`progress`, which the job may write itself: at most PROGRESS_MAX bytes of it."""
    fd = _regular_fd(path)
    if fd is None:
        return None
    try:
        data = os.read(fd, PROGRESS_MAX)
    finally:
        os.close(fd)
    return data.decode(errors="replace").rstrip("\n")
