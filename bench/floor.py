#!/usr/bin/env python3
"""The contract's own cost: the file operations of one `true` job's life, with nothing else.

    python3 bench/floor.py [--jobs 2000] [--runs 3]

Replays, in one process and with no logic between the calls, what SPEC §2 asks the
state folder to hold for one job that runs once and succeeds, and no file more (none of
Banyan's own: no `lock` or `usage` in the record): the API's durable
request in incoming/ (fsynced, linked, its folder fsynced), the scheduler's record
staged whole and renamed in, its queue entry, each value it changes later written
atomically (tmp/, then rename), two `events` lines a transition (the global log's through
a descriptor kept open, as Banyan's processes keep it), the processor's attempt
folder staged whole, its values as the job starts and ends; the scheduler learns the
start and the end at once, as under load. Then posix_spawn of `true` and its wait. Each is CPU
that any implementation of the contract pays per job on this machine, before its HTTP,
its processes waking each other and its decisions: the floor under `banyan up`'s CPU per
job (bench/e2e.py prints that, part by part). Files go where TMPDIR says, as the other
parts' state folders do.
"""

import argparse
import os
import resource
import shutil
import tempfile

from harness import note, report

REQUEST = b'{"commands": [{"exec": ["true"]}], "environment": {}, "name": "true", "priority": 0}\n'
WHEN = b"2026-11-27T04:31:35.279Z\n"
EVENT = b"2026-11-27T04:31:35.279Z starting attempt 1 on node local\n"


class Replay:
    """One state folder and the writes of the contract, as plain system calls."""

    def __init__(self, root: str):
        self.root = root
        self.seq = 0
        for folder in ("incoming", "tmp", "scheduler/jobs", "scheduler/queue", "scheduler/running",
                       "processor/job"):
            os.makedirs(os.path.join(root, folder))
        self.events = os.open(os.path.join(root, "scheduler", "events"),  # kept open, as Banyan's
                              os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _tmp(self, name: str) -> str:
        self.seq += 1
        return os.path.join(self.root, "tmp", f"{os.getpid()}.{self.seq}.{name}")

    @staticmethod
    def _create(path: str, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        if data:
            os.write(fd, data)
        os.close(fd)

    def _atomic(self, folder: str, values: list[tuple[str, bytes]]) -> None:
        for name, data in values:
            tmp = self._tmp(name)
            self._create(tmp, data)
            os.replace(tmp, os.path.join(folder, name))

    def _staged(self, folder: str, values: list[tuple[str, bytes]], dirs: tuple[str, ...] = ()) -> None:
        staging = self._tmp(os.path.basename(folder) + ".d")
        os.mkdir(staging)
        for name, data in values:
            self._create(os.path.join(staging, name), data)
        for name in dirs:
            os.mkdir(os.path.join(staging, name))
        os.rename(staging, folder)

    @staticmethod
    def _append(path: str, line: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        os.write(fd, line)
        os.close(fd)

    def _transition(self, record: str, state: bytes) -> None:
        self._atomic(record, [("state", state)])
        self._append(os.path.join(record, "events"), EVENT)
        os.write(self.events, EVENT)

    def job(self, n: int) -> None:
        job_id = f"{n:017x}"
        dropped = os.path.join(self.root, "incoming", job_id + ".job")
        tmp = self._tmp(job_id + ".job")  # the API: durable before its 201
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        os.write(fd, REQUEST)
        os.fsync(fd)
        os.close(fd)
        os.link(tmp, dropped)
        folder = os.open(os.path.dirname(dropped), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        os.fsync(folder)
        os.close(folder)
        os.unlink(tmp)
        fd = os.open(dropped, os.O_RDONLY | os.O_CLOEXEC)  # intake
        os.read(fd, 65536)
        os.close(fd)
        record = os.path.join(self.root, "scheduler", "jobs", job_id)
        self._staged(record, [("request.json", REQUEST), ("state", b"queued\n"), ("status", b"unknown\n"),
                              ("result", b"\n"), ("attempts", b"0\n"), ("created-at", WHEN),
                              ("events", EVENT)])
        os.write(self.events, EVENT)
        entry = os.path.join(self.root, "scheduler", "queue", f"1000-{job_id}-{job_id}")
        os.symlink(f"../jobs/{job_id}", entry)
        os.unlink(dropped)
        self._atomic(record, [("attempts", b"1\n"), ("node", b"local\n")])  # placement
        running = os.path.join(self.root, "scheduler", "running", job_id)
        os.rename(entry, running)
        self._transition(record, b"starting\n")
        attempt = os.path.join(self.root, "processor", "job", job_id)  # the processor
        self._staged(attempt, [("request.json", REQUEST), ("attempt", b"1\n"), ("status", b"unknown\n"),
                               ("state", b"starting\n"), ("log", b"")], dirs=("work",))
        self._atomic(attempt, [("started-at", WHEN), ("state", b"running\n"), ("pid", b"4243\n"),
                               ("usage", b"0 0.00\n"), ("exit-status", b"0\n"), ("result", b"success\n"),
                               ("status", b"good\n"), ("finished-at", WHEN), ("state", b"stopped\n")])
        self._atomic(record, [("started-at", WHEN), ("exit-status", b"0\n"), ("result", b"success\n"),
                              ("status", b"good\n"), ("finished-at", WHEN)])  # start and end learnt at once
        for _ in range(2):  # `running`, then ...
            self._append(os.path.join(record, "events"), EVENT)
            os.write(self.events, EVENT)
        self._transition(record, b"stopped\n")  # ... `stopped`
        os.unlink(running)


def _cpu(who: int) -> float:
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def files_us(jobs: int) -> float:
    """Microseconds of CPU per job of the contract's file operations."""
    root = tempfile.mkdtemp(prefix="banyan-bench-floor-")
    try:
        replay = Replay(os.path.join(root, "state"))
        before = _cpu(resource.RUSAGE_SELF)
        for n in range(jobs):
            replay.job(n)
        os.close(replay.events)
        return (_cpu(resource.RUSAGE_SELF) - before) * 1e6 / jobs
    finally:
        shutil.rmtree(root)


def spawn_us(jobs: int) -> tuple[float, float]:
    """Microseconds of CPU per `true`: the spawning process's, and the child's own."""
    true = shutil.which("true") or "/bin/true"
    before = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    for _ in range(jobs):
        pid = os.posix_spawn(true, ["true"], {"PATH": os.defpath, "LANG": "C.UTF-8"}, setsid=True)
        os.waitpid(pid, 0)
    return ((_cpu(resource.RUSAGE_SELF) - before[0]) * 1e6 / jobs,
            (_cpu(resource.RUSAGE_CHILDREN) - before[1]) * 1e6 / jobs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    note(f"the contract's files, replayed: N={args.jobs}, runs={args.runs}, in {tempfile.gettempdir()}")
    files, parents, children = [], [], []
    for _ in range(args.runs):
        files.append(files_us(args.jobs))
        parent, child = spawn_us(max(1, args.jobs // 4))
        parents.append(parent)
        children.append(child)
    report("contract floor", "files, CPU a job", "us", files)
    report("contract floor", "spawn true, parent", "us", parents)
    report("contract floor", "true itself", "us", children)


if __name__ == "__main__":
    main()
