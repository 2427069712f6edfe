"""CPU seconds of each part of a running `banyan up`, read from /proc (psutil).

Where a job's CPU goes decides what can be made faster, so the end-to-end bench prints
it per part and per job. The fork server ignores SIGCHLD (the kernel reaps its
supervisors), so a supervisor's time never reaches its parent's children's times:
each live supervisor is read itself (none retires during a run: one idles for 5 s
first). A job's own time is in its supervisor's children's times (it waits for it).
"""

import psutil

PARTS = ("api", "scheduler", "processor", "supervisors", "jobs")
ROLES = {"serve": "api", "scheduler": "scheduler", "processor": "processor"}


def _own(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def by_part(up_pid: int) -> dict[str, float]:
    """CPU seconds so far of the API, the scheduler daemon, the processor's own threads,
    its fork server and supervisors together, and the jobs they waited for."""
    parts = dict.fromkeys(PARTS, 0.0)
    for child in psutil.Process(up_pid).children():
        try:
            role = next((ROLES[w] for w in child.cmdline() if w in ROLES), None)
            if role is None:
                continue
            parts[role] += _own(child)
            if role != "processor":
                continue
            for fork_server in child.children():
                parts["supervisors"] += _own(fork_server)
                for supervisor in fork_server.children():
                    times = supervisor.cpu_times()
                    parts["supervisors"] += times.user + times.system
                    parts["jobs"] += times.children_user + times.children_system
        except psutil.NoSuchProcess:  # a supervisor that ended while read
            continue
    return parts


def per_job(before: dict[str, float], after: dict[str, float], jobs: int) -> dict[str, float]:
    """Milliseconds of CPU per job of each part between two readings."""
    return {part: (after[part] - before[part]) * 1000 / jobs for part in PARTS}
