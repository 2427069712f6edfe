"""A job's process tree: signal all of it, measure all of it.

Each command leads its own process group; descendants that left the group (setsid,
daemonising) are still found through psutil's parent links, as Slurm's proctrack
finds them through cgroups. Signals go to the group and to every descendant found.
"""

import os
import signal

import psutil


def members(pid: int) -> list[psutil.Process]:
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def child_of(pid: int, parent: int) -> bool:
    """True if `pid` is a live child of `parent`: a pid file is trusted only then (pid reuse)."""
    try:
        return psutil.Process(pid).ppid() == parent
    except psutil.Error:
        return False


def send(pid: int, signum: int) -> None:
    """`signum` to the group led by `pid` and to every descendant of `pid`."""
    found = members(pid)
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
    for proc in found:
        try:
            proc.send_signal(signum)
        except psutil.Error:
            pass
    if signum in (signal.SIGTERM, signal.SIGKILL):
        _continue(found)


def _continue(found: list[psutil.Process]) -> None:
    """A stopped process never sees SIGTERM until continued (kill of a suspended job)."""
    for proc in found:
        try:
            proc.send_signal(signal.SIGCONT)
        except psutil.Error:
            pass


def sample(pid: int) -> tuple[int, float]:
    """(resident bytes, CPU seconds) of the tree now; processes that end meanwhile are skipped."""
    rss, cpu = 0, 0.0
    for proc in members(pid):
        try:
            with proc.oneshot():
                rss += proc.memory_info().rss
                t = proc.cpu_times()
                cpu += t.user + t.system
        except psutil.Error:
            pass
    return rss, cpu
