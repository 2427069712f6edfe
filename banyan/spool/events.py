"""Append-only event logs: one per job, and the global one of every transition."""

import os
import threading
import time

from .. import timefmt
from .atomic import FULL, append_line, line_bytes, no_space, read_bytes
from .paths import Layout

RECHECK = 1.0
"""Seconds a process writes to the global log's open descriptor before it checks that
the path still names that file (a log moved aside by logrotate is then let go)."""
KEPT = 8
"""Global logs (state folders) a process keeps open at once."""


def clean(text: str) -> str:
    """One line, no control characters, so a detail can never forge an extra event line."""
    text = str(text)
    if text.isprintable():  # nearly always: no character by character
        return text[:1000]
    return "".join(c if c.isprintable() else " " for c in text)[:1000]


def record(layout: Layout, job_id: str, event: str, detail: str = "", now: float | None = None) -> None:
    """Append `<time> <event> <detail>` to the job's events and `<time> <id> ...` to the global log."""
    when = timefmt.iso(now)
    detail = clean(detail)
    append_line(layout.job_file(job_id, "events"), f"{when} {event} {detail}".rstrip())
    append_global(layout.events, f"{when} {job_id} {event} {detail}".rstrip())


class _Open:
    """The global logs this process keeps open: a scheduler writes four lines a job there,
    and open and close were two of every line's three system calls. A write happens under
    the lock, so no thread writes to a descriptor another has just closed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fds: dict[str, tuple[int, float]] = {}  # path → (fd, when last checked)

    def write(self, path: str, data: bytes) -> None:
        with self.lock:
            fd, checked = self.fds.get(path, (-1, 0.0))
            now = time.monotonic()
            if fd >= 0 and now - checked >= RECHECK:
                self.fds[path] = (fd, now)
                if not _same(fd, path):
                    os.close(self.fds.pop(path)[0])
                    fd = -1
            if fd < 0:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
                if len(self.fds) >= KEPT:
                    os.close(self.fds.pop(next(iter(self.fds)))[0])
                self.fds[path] = (fd, now)
            os.write(fd, data)


_open = _Open()


def _forked() -> None:
    """A child gets a lock of its own: a thread of the parent may have held this one at the
    fork. The descriptors stay good (O_APPEND, shared with the parent)."""
    _open.lock = threading.Lock()


os.register_at_fork(after_in_child=_forked)


def _same(fd: int, path: str) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino)


def append_global(path: str, line: str) -> None:
    """`append_line` to the global log, through the descriptor this process keeps open."""
    try:
        _open.write(path, line_bytes(line))
    except OSError as err:
        if err.errno in FULL:
            raise no_space(err, path) from err
        raise


def read(layout: Layout, job_id: str) -> list[str]:
    data = read_bytes(layout.job_file(job_id, "events"))
    return [] if data is None else data.decode(errors="replace").splitlines()


def tail_global(layout: Layout, max_bytes: int = 4 << 20) -> list[str]:
    """The last lines of the global log (whole lines only), for rate and wait statistics."""
    try:
        with open(layout.events, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return []
    lines = data.decode(errors="replace").splitlines()
    return lines[1:] if size > max_bytes else lines
