"""What ends the daemon's wait between passes: a file arriving in a watched folder, an
answer from a node, a signal, or the tick.

The daemon's own thread reads the inotify descriptor (watchdog's binding of the system
calls), beside a pipe that other threads and signal handlers write a byte to. A reader
thread of its own, as watchdog's InotifyFD runs, parsed every event in Python and
handed the GIL over for each: 15 % of the scheduler's time under load. Here no event
is parsed, since any arrival (or a lost event, or a watch gone) means the same thing:
run a pass, which lists its folders anew.
"""

import ctypes
import os
import select

DRAIN = 1 << 16


class Wakeup:
    """Made once per daemon process; its descriptors last as long as the process."""

    def __init__(self, folders: list[str]):
        from watchdog.observers.inotify_c import InotifyConstants, inotify_add_watch, inotify_init

        self._inotify = _checked(inotify_init(), "inotify_init")
        os.set_blocking(self._inotify, False)
        os.set_inheritable(self._inotify, False)
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        arrivals = InotifyConstants.IN_CREATE | InotifyConstants.IN_MOVED_TO  # not our own deletions
        try:
            for folder in folders:
                _checked(inotify_add_watch(self._inotify, os.fsencode(folder), arrivals), folder)
        except OSError:
            for fd in (self._inotify, self._r, self._w):
                os.close(fd)
            raise
        self._poll = select.poll()
        self._poll.register(self._inotify, select.POLLIN)
        self._poll.register(self._r, select.POLLIN)

    def set(self) -> None:
        """Wake the waiter (from any thread, or a signal handler)."""
        try:
            os.write(self._w, b"!")
        except BlockingIOError:  # the pipe is full: a wake-up is pending anyway
            pass

    def clear(self) -> None:
        """Forget what woke us: what arrives from now on wakes the next wait."""
        for fd in (self._inotify, self._r):
            try:
                while os.read(fd, DRAIN):
                    pass
            except BlockingIOError:
                pass

    def wait(self, timeout: float) -> bool:
        """Block until something arrives or `timeout` seconds pass; True if something did."""
        return bool(self._poll.poll(max(0, int(timeout * 1000))))


def _checked(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"inotify: {what}: {os.strerror(err)}")
    return result
