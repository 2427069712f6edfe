"""Start supervisors fast: a small single-threaded process hands each job attempt to one.

Starting a fresh Python per job costs ~40 ms of CPU, and even a fork of a process that
has imported everything costs 2–3 ms here (the page tables, then a copy of every page
the child writes). So supervisor processes are reused, as Apache's prefork workers
and HTCondor's claimed slots are: a supervisor that has finished an attempt says so
on a shared pipe and waits on its own pipe for the next; the fork server forks a new
one only when none is free, and retires the ones idle for `IDLE_MAX`. A supervisor
still runs one attempt at a time, holding that attempt's lock, so killing it loses
that attempt only.

The fork server is forked from the processor before any thread starts (forking a
threaded process is unsafe), reads job ids from a pipe, and exits when the processor
goes (end of file); its supervisors then finish their attempts and exit. Each
supervisor calls setsid, so it is in no process group of the processor and survives
`kill -9 -<pgid>`.
"""

import os
import select
import signal
import sys
import threading
import time

from ..spool.procjobs import ProcessorJobs
from .reporter import Reporter
from .supervise import Supervisor

IDLE_MAX = 5.0
"""Seconds a free supervisor waits for another attempt before the fork server retires it."""


class Launcher:
    def __init__(self, jobs: ProcessorJobs, node: str, scheduler_url: str | None,
                 banyan_url: str | None, token: str | None, reporter: Reporter):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            reporter.forked()
            report_fd = reporter.fd
            try:
                _serve(r, report_fd, lambda job_id: Supervisor(jobs, job_id, node, scheduler_url,
                                                               banyan_url, token, report_fd).run())
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


def _serve(r: int, report_fd: int, supervise) -> None:
    """The fork server's loop: each job id to a free supervisor, or to a new one."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pool = _Pool(report_fd, supervise)
    buffered = {r: b"", pool.free_r: b""}
    while True:
        ready, _, _ = select.select([r, pool.free_r], [], [], IDLE_MAX)
        for fd in sorted(ready, key=lambda fd: fd != pool.free_r):  # who is free, then jobs
            chunk = os.read(fd, 65536)
            if fd == r and not chunk:
                return  # the processor is gone: close every pipe by exiting
            buffered[fd] += chunk
            *lines, buffered[fd] = buffered[fd].split(b"\n")
            for line in lines:
                if fd == pool.free_r:
                    pool.free(int(line))
                else:
                    pool.hand(line)
        pool.retire(time.monotonic() - IDLE_MAX)


class _Pool:
    """The fork server's supervisors: each one's job pipe, and which are free since when."""

    def __init__(self, report_fd: int, supervise):
        self.free_r, self.free_w = os.pipe()  # supervisors write their pid here when free
        self.report_fd = report_fd
        self.supervise = supervise
        self.pipes: dict[int, int] = {}  # pid → the write end of its job pipe
        self.idle: dict[int, float] = {}  # pid → free since, oldest first

    def free(self, pid: int) -> None:
        if pid in self.pipes:
            self.idle[pid] = time.monotonic()

    def hand(self, line: bytes) -> None:
        """Give one job id to the supervisor free the shortest time (its pages are warm)."""
        while self.idle:
            pid = next(reversed(self.idle))
            del self.idle[pid]
            try:
                os.write(self.pipes[pid], line + b"\n")
                return
            except BrokenPipeError:  # it died while free
                self._forget(pid)
        job_r, job_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(job_w)
            _child(line.decode(), job_r, self.free_w, self.report_fd, self.supervise)
        os.close(job_r)
        self.pipes[pid] = job_w

    def retire(self, before: float) -> None:
        """Close the pipes of supervisors free since `before` (end of file: they exit), and
        of those that died busy (killed: they will never say they are free)."""
        for pid, since in list(self.idle.items()):
            if since < before:
                del self.idle[pid]
                self._forget(pid)
        for pid in [p for p in self.pipes if p not in self.idle]:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                self._forget(pid)

    def _forget(self, pid: int) -> None:
        os.close(self.pipes.pop(pid))


def _child(job_id: str, job_r: int, free_w: int, report_fd: int, supervise) -> None:
    """A supervisor: run attempts one after another until its job pipe closes."""
    code = 0
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        low = 3  # close all but its three pipes (the others' job pipes are theirs to see closed)
        for fd in sorted({job_r, free_w, report_fd}):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 65536)
        pid = str(os.getpid()).encode() + b"\n"
        jobs = _lines(job_r)
        while job_id:
            supervise(job_id)
            try:
                os.write(free_w, pid)
            except OSError:  # the fork server is gone: no next attempt will come
                return
            job_id = next(jobs, "")
    except BaseException:  # noqa: BLE001 - a supervisor must never return into the fork server loop
        code = 1
    finally:
        sys.stdout.flush()
        os._exit(code)


def _lines(fd: int):
    """The job ids from a supervisor's own pipe, until end of file. The fork server
    writes one only after the supervisor said it was free, so a read takes one whole
    line (the byte-at-a-time reads of a file object's readline cost 18 system calls)."""
    buffered = b""
    while True:
        while b"\n" not in buffered:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            buffered += chunk
        line, buffered = buffered.split(b"\n", 1)
        yield line.decode()
