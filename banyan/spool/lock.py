"""The pass lock: a kernel flock on scheduler/lock, released when its holder dies.

flock, not a dotlock or pid file (nq's reason: the kernel drops it with the process),
and never a soft lock, whose stale-lock breaking admits two holders (RELIABILITY §3.6):
this is flock(2) itself, which cannot fall back to anything. It used to be filelock's
UnixFileLock, which costs 190 µs per acquire and release here (filelock 4.3: fork
tracking, path resolution, a mkdir each time), 0.3–0.7 ms of every daemon pass and so
of every job's start; flock costs 2 µs. The file is never deleted.
"""

import fcntl
import os
import time

from ..errors import Unavailable

POLL = 0.01
"""Seconds between tries while waiting with a time limit."""


class PassLock:
    """At most one holder across processes and threads: each acquire opens its own file
    description, and flock excludes descriptions. Not reentrant."""

    def __init__(self, path: str, wait: float = 0.0):
        self.path = path
        self.wait = wait
        """Seconds `with` waits (negative: for ever) before raising Unavailable."""
        self._fd: int | None = None

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
