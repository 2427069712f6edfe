"""The pass lock: a kernel flock on scheduler/lock, released when its holder dies.

flock, not a dotlock or pid file (nq's reason: the kernel drops it with the process),
and never a soft lock, whose stale-lock breaking admits two holders (RELIABILITY §3.6):
this is flock(2) itself, which cannot fall back to anything. It used to be filelock's
UnixFileLock, which costs 190 µs per acquire and release here (filelock 4.3: fork
tracking, path resolution, a mkdir each time), 0.3–0.7 ms of every daemon pass and so
of every job's start; flock costs 2 µs. The file is never deleted.

Each holder writes its mark (pid and a count) into the file as it takes the lock, so
the daemon, finding its own mark at its next pass, knows that nobody else held it
between: its memory of the records from the pass before is still true.
"""

import fcntl
import itertools
import os
import time

from ..errors import Unavailable

POLL = 0.01
"""Seconds between tries while waiting with a time limit."""
MARK_SIZE = 32
_holds = itertools.count()


class PassLock:
    """At most one holder across processes and threads: each acquire opens its own file
    description, and flock excludes descriptions. Not reentrant."""

    def __init__(self, path: str, wait: float = 0.0):
        self.path = path
        self.wait = wait
        """Seconds `with` waits (negative: for ever) before raising Unavailable."""
        self._fd: int | None = None
        self._mark = b""
        self.undisturbed = False
        """True while held if no other holder had it since this object's last hold: what
        this holder remembers of the records is still true (every writer holds the lock)."""

    def acquire(self, timeout: float | None = None) -> bool:
        """Hold the lock within `timeout` seconds (default: `wait`; negative: for ever)."""
        timeout = self.wait if timeout is None else timeout
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            if timeout < 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                deadline = time.monotonic() + timeout
                while not _try(fd):
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        return False
                    time.sleep(POLL)
            self.undisturbed = bool(self._mark) and os.pread(fd, MARK_SIZE, 0) == self._mark
            if not self.undisturbed:  # every holder signs the file, before it writes anything
                self._mark = f"{os.getpid():>12} {next(_holds):>18}\n".encode()
                try:
                    os.pwrite(fd, self._mark, 0)
                except OSError:  # a full disk: unsigned, which no holder takes for its mark
                    self._mark = b""
                    os.ftruncate(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go: closing the description drops its flock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> "PassLock":
        hold(self, self.wait)
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def pass_lock(path: str, wait: float = 0) -> PassLock:
    """A lock object for `path`; acquire with `try_hold`, `hold` or `with`."""
    return PassLock(path, wait)


def hold(lock: PassLock, wait: float) -> None:
    """Acquire within `wait` seconds or raise Unavailable (the caller answers 503)."""
    if not lock.acquire(timeout=wait):
        raise Unavailable("the scheduler is busy; try again")


def try_hold(lock: PassLock) -> bool:
    """One attempt, no waiting: False if another pass holds it (cron passes exit quietly)."""
    return lock.acquire(timeout=0)
