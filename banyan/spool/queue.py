"""The index folders `queue/`, `running/` and `releasing/`: symlinks to `../jobs/<id>`.

`releasing/` holds the stopped jobs whose dependents are still being judged: an entry
is made before the stop is committed and removed once every dependent has been judged,
so a crash between the two is mended by the next pass.

Queue entries are named `<inverted priority>-<sequence>-<id>`, so `ls queue/` is
placement order: higher priority first, then first come, first served (huey's
FileStorage naming). Moving a job from queue to running is one rename.
"""

import os
from collections.abc import Iterator

from ..defaults import MAX_PRIORITY
from .paths import Layout


def entry_name(job_id: str, priority: int, seq_us: int) -> str:
    return f"{MAX_PRIORITY - priority:04d}-{seq_us:013x}-{job_id}"


def entry_id(name: str) -> str:
    return name.split("-", 2)[2]


class Index:
    def __init__(self, layout: Layout):
        self.layout = layout

    def enqueue(self, job_id: str, priority: int, seq_us: int) -> str:
        name = entry_name(job_id, priority, seq_us)
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.queue_entry(name))
        except FileExistsError:
            pass
        return name

    def queued(self) -> Iterator[tuple[str, str]]:
        """(entry name, job id) in placement order, parsed as they are taken: placement
        stops at the first job no node has room for, however long the queue."""
        for name in sorted(os.listdir(self.layout.queue)):
            if not name.startswith(".") and name.count("-") >= 2:
                yield name, entry_id(name)

    def find_queued(self, job_id: str) -> str | None:
        suffix = "-" + job_id
        for name, _ in self.queued():
            if name.endswith(suffix) and entry_id(name) == job_id:
                return name
        return None

    def dequeue(self, job_id: str, name: str | None = None) -> bool:
        """Remove the job's queue entry; False if it had none.

        Given the entry's `name` (it follows from the job's priority and creation time),
        this is one unlink; without it, or if that name is not there, a scan of `queue/`.
        """
        if name is not None:
            try:
                os.unlink(self.layout.queue_entry(name))
                return True
            except FileNotFoundError:
                pass
        name = self.find_queued(job_id)
        if name is None:
            return False
        try:
            os.unlink(self.layout.queue_entry(name))
        except FileNotFoundError:
            return False
        return True

    def to_running(self, name: str, job_id: str) -> None:
        """One rename moves the entry from queue/ to running/<id>."""
        os.rename(self.layout.queue_entry(name), self.layout.running_entry(job_id))

    def add_running(self, job_id: str) -> None:
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.running_entry(job_id))
        except FileExistsError:
            pass

    def running(self) -> list[str]:
        return sorted(n for n in os.listdir(self.layout.running) if not n.startswith("."))

    def is_running(self, job_id: str) -> bool:
        return os.path.lexists(self.layout.running_entry(job_id))

    def remove_running(self, job_id: str) -> None:
        try:
            os.unlink(self.layout.running_entry(job_id))
        except FileNotFoundError:
            pass

    def mark_releasing(self, job_id: str) -> None:
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.releasing_entry(job_id))
        except FileExistsError:
            pass

    def releasing(self) -> list[str]:
        return sorted(n for n in os.listdir(self.layout.releasing) if not n.startswith("."))

    def released(self, job_id: str) -> None:
        try:
            os.unlink(self.layout.releasing_entry(job_id))
        except FileNotFoundError:
            pass
