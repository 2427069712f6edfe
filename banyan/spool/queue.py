"""The index folders `queue/`, `running/` and `releasing/`: symlinks to `../jobs/<id>`.

`releasing/` holds the stopped jobs whose dependents are still being judged: an entry
is made before the stop is committed and removed once every dependent has been judged,
so a crash between the two is mended by the next pass.

Queue entries are named `<inverted priority>-<sequence>-<id>`, so `ls queue/` is
placement order: higher priority first, then first come, first served (huey's
FileStorage naming). Moving a job from queue to running is one rename.

A pass lists these folders several times, and `queue/` can hold thousands of entries:
its listing cost 0.6 ms of each busy pass here. So within a pass (`listed`) each folder
is listed once and this object's own changes keep the listing true; a daemon that held
the pass lock undisturbed keeps it for the next pass too, up to LISTING_KEPT seconds.
"""

import bisect
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..defaults import MAX_PRIORITY
from .paths import Layout

LISTING_KEPT = 1.0
"""Seconds a daemon trusts its own listings before it reads the folders again (whatever
changed them by hand meanwhile is then seen)."""


def entry_name(job_id: str, priority: int, seq_us: int) -> str:
    return f"{MAX_PRIORITY - priority:04d}-{seq_us:013x}-{job_id}"


def entry_id(name: str) -> str:
    return name.split("-", 2)[2]


class _Listings:
    """What a pass knows of the index folders: each read at its first use, then kept true."""

    def __init__(self):
        self.at = time.monotonic()
        self.queue: list[str] | None = None
        """The entry names in `queue/`, sorted."""
        self.running: set[str] | None = None
        self.releasing: set[str] | None = None


class Index:
    def __init__(self, layout: Layout):
        self.layout = layout
        self._listings: _Listings | None = None
        self._kept = _Listings()

    @contextmanager
    def listed(self, keep: bool = False):
        """List each folder once while this lasts. Only for a holder of the pass lock:
        every other writer of the index takes it too. With `keep` (nobody else held the
        lock since this object's last pass), the last pass's listings are still true."""
        kept = self._kept
        listings = kept if keep and time.monotonic() - kept.at < LISTING_KEPT else _Listings()
        self._listings = listings
        try:
            yield
        except BaseException:
            listings = _Listings()  # a step that failed midway may have changed a folder unnoted
            raise
        finally:
            self._listings = None
            self._kept = listings

    def _queue(self) -> list[str] | None:
        listings = self._listings
        if listings is None:
            return None
        if listings.queue is None:
            listings.queue = self._list_queue()
        return listings.queue

    def _list_queue(self) -> list[str]:
        """The entry names in `queue/`, sorted; a name that is no entry's is left out."""
        return sorted(n for n in _names(self.layout.queue) if n.count("-") >= 2)

    def _set(self, folder: str) -> set[str] | None:
        listings = self._listings
        if listings is None:
            return None
        if getattr(listings, folder) is None:
            setattr(listings, folder, set(_names(getattr(self.layout, folder))))
        return getattr(listings, folder)

    def _noted(self, folder: str, job_id: str, present: bool) -> None:
        """Keep the listing of `running/` or `releasing/` true after a change to it."""
        names = self._set(folder)
        if names is not None:
            (names.add if present else names.discard)(job_id)

    def enqueue(self, job_id: str, priority: int, seq_us: int) -> str:
        name = entry_name(job_id, priority, seq_us)
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.queue_entry(name))
        except FileExistsError:
            pass
        queue = self._queue()
        if queue is not None:
            at = bisect.bisect_left(queue, name)
            if at == len(queue) or queue[at] != name:
                queue.insert(at, name)
        return name

    def queued(self) -> Iterator[tuple[str, str]]:
        """(entry name, job id) in placement order, parsed as they are taken: placement
        stops at the first job no node has room for, however long the queue."""
        queue = self._queue()
        for name in self._list_queue() if queue is None else list(queue):
            yield name, entry_id(name)

    def _unqueued(self, name: str) -> None:
        queue = self._queue()
        if queue is not None:
            at = bisect.bisect_left(queue, name)
            if at < len(queue) and queue[at] == name:
                del queue[at]

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
            finally:
                self._unqueued(name)
        name = self.find_queued(job_id)
        if name is None:
            return False
        try:
            os.unlink(self.layout.queue_entry(name))
        except FileNotFoundError:
            return False
        finally:
            self._unqueued(name)
        return True

    def to_running(self, name: str, job_id: str) -> None:
        """One rename moves the entry from queue/ to running/<id>."""
        os.rename(self.layout.queue_entry(name), self.layout.running_entry(job_id))
        self._unqueued(name)
        self._noted("running", job_id, True)

    def add_running(self, job_id: str) -> None:
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.running_entry(job_id))
        except FileExistsError:
            pass
        self._noted("running", job_id, True)

    def running(self) -> list[str]:
        running = self._set("running")
        return sorted(_names(self.layout.running) if running is None else running)

    def is_running(self, job_id: str) -> bool:
        return os.path.lexists(self.layout.running_entry(job_id))

    def remove_running(self, job_id: str) -> None:
        try:
            os.unlink(self.layout.running_entry(job_id))
        except FileNotFoundError:
            pass
        self._noted("running", job_id, False)

    def mark_releasing(self, job_id: str) -> None:
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.releasing_entry(job_id))
        except FileExistsError:
            pass
        self._noted("releasing", job_id, True)

    def releasing(self) -> list[str]:
        releasing = self._set("releasing")
        return sorted(_names(self.layout.releasing) if releasing is None else releasing)

    def released(self, job_id: str) -> None:
        try:
            os.unlink(self.layout.releasing_entry(job_id))
        except FileNotFoundError:
            pass
        self._noted("releasing", job_id, False)


def _names(folder: str) -> list[str]:
    """The entries of an index folder; dotfiles are writes in progress."""
    return [n for n in os.listdir(folder) if not n.startswith(".")]
