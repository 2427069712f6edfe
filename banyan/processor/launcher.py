"""Start supervisors fast: a small single-threaded process forks one per job attempt.

Starting a fresh Python per job costs ~40 ms of CPU; a fork of a process that has
already imported everything costs ~1 ms. The fork server is forked from the processor
before any thread starts (forking a threaded process is unsafe), reads job ids from a
pipe, and exits when the processor goes (end of file). Each supervisor calls setsid,
so it is in no process group of the processor and survives `kill -9 -<pgid>`.
"""

import os
import signal
import sys
import threading

from ..spool.procjobs import ProcessorJobs
from .supervise import Supervisor


class Launcher:
    def __init__(self, jobs: ProcessorJobs, node: str, scheduler_url: str | None,
                 banyan_url: str | None, token: str | None):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            try:
                _serve(r, lambda job_id: Supervisor(jobs, job_id, node, scheduler_url,
                                                    banyan_url, token).run())
            finally:
                os._exit(0)
        os.close(r)
        os.set_inheritable(w, False)
        self.pid = pid
        self._w = w
        self._lock = threading.Lock()

    def launch(self, job_id: str) -> None:
        with self._lock:
            os.write(self._w, job_id.encode() + b"\n")


def _serve(r: int, supervise) -> None:
    """The fork server's loop: one fork per line until the processor closes the pipe."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with os.fdopen(r, "rb", buffering=0) as pipe:
        buffered = b""
        while chunk := pipe.read(65536):
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                if os.fork() == 0:
                    _child(line.decode(), supervise)


def _child(job_id: str, supervise) -> None:
    code = 0
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 65536)
        supervise(job_id)
    except BaseException:  # noqa: BLE001 - a supervisor must never return into the fork server loop
        code = 1
    finally:
        sys.stdout.flush()
        os._exit(code)
