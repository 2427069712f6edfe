"""The pass lock: a kernel flock on scheduler/lock, released when its holder dies.

flock, not a dotlock or pid file (nq's reason: the kernel drops it with the process).
`UnixFileLock` is used directly so filelock can never fall back to a soft lock, whose
stale-lock breaking admits two holders (RELIABILITY §3.6). The file is never deleted.
filelock is imported on first use: a CGI request that takes no lock never pays for it.
"""

from ..errors import Unavailable


def pass_lock(path: str, wait: float = 0) -> "filelock.UnixFileLock":  # noqa: F821
    """A lock object for `path`; acquire with `try_hold` or `hold`."""
    import filelock
    return filelock.UnixFileLock(path, timeout=wait, thread_local=False)


def hold(lock: "filelock.UnixFileLock", wait: float):  # noqa: F821
    """Acquire within `wait` seconds or raise Unavailable (the caller answers 503)."""
    import filelock
    try:
        return lock.acquire(timeout=wait)
    except filelock.Timeout as err:
        raise Unavailable("the scheduler is busy; try again") from err


def try_hold(lock: "filelock.UnixFileLock") -> bool:  # noqa: F821
    """One attempt, no waiting: False if another pass holds it (cron passes exit quietly)."""
    import filelock
    try:
        lock.acquire(timeout=0)
        return True
    except filelock.Timeout:
        return False
