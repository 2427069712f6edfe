"""The supervisor of one job attempt: runs its commands, enforces its limits, records its end.

A process of its own, in its own session, so it outlives a processor killed with -9
together with its whole process group (nq and Slurm's slurmstepd do the same); the
process runs one attempt at a time and may be reused for the next (launcher.py). It
holds the attempt's lock while it runs it and is the only writer of the attempt's
`state` after `starting`; the processor asks it to kill, suspend or continue by
writing `control` and sending SIGUSR1 (Postfix's master wakes its children the same
way: a flag on disk, a signal to look at it).
"""

import os
import resource
import select
import signal
import time

from .. import defaults, timefmt
from ..spool.procjobs import HOLD_WAIT, INTEGERS, ProcessorJobs
from . import attach, proctree, reporter

SAMPLE_EVERY = 1.0
"""Seconds between usage samples of a running tree."""

FIRST_SAMPLE = 0.2
"""A job shorter than this is not sampled (its `usage` has the CPU seconds and a peak of 0):
most jobs of a busy queue are that short, and a sample costs a write."""


class Supervisor:
    def __init__(self, jobs: ProcessorJobs, job_id: str, node: str, scheduler_url: str | None,
                 banyan_url: str | None, token: str | None, report_fd: int):
        self.jobs = jobs
        self.id = job_id
        self.node = node
        self.scheduler_url = scheduler_url
        self.banyan_url = banyan_url
        self.token = token
        self.report_fd = report_fd
        """The processor's pipe for the attempt's start and end (reporter.py)."""
        self.suspended = 0.0
        """When the job was suspended (monotonic seconds), or 0 while it runs."""
        self.deadline: float | None = None
        self.kill_reason: str | None = None
        self.peak_rss = 0
        self.told_start = False
        self.record: dict = {}
        """What this supervisor wrote, as `ProcessorJobs.record` reads it back: its report
        is built from it instead of a dozen reads of files it wrote itself."""

    def run(self) -> None:
        """Run the attempt unless another supervisor has it or it already ran. The process
        may run more attempts after this one (launcher.py), so all it opened is closed."""
        lock = self.jobs.hold(self.id, wait=HOLD_WAIT)
        if lock is None:
            return
        try:
            if self.jobs.get(self.id, "state") == "starting":
                self.jobs.sign(lock)
                self._run()
        finally:
            os.close(lock)

    def _run(self) -> None:
        request = self.jobs.request(self.id)
        self.record = self.jobs.fresh_record(self.id, int(self.jobs.get(self.id, "attempt") or 1))
        self.used_before = _children_cpu()
        self.wake_r = _Signals.attach(self)
        try:
            self._put("started-at", timefmt.iso(time.time()))
            self._put("state", "running")
            result, exit_status, signame = self._run_commands(request)
            self._finish(result, exit_status, signame)
        finally:
            _Signals.detach()
        self.record["progress"] = self.jobs.get(self.id, "progress")  # the job may have written it
        reporter.hand(self.report_fd, self.record, self.node, self.scheduler_url, self.token)

    def _put(self, field: str, value: object) -> None:
        self.jobs.put(self.id, field, value)
        self.record[field] = value if field in INTEGERS else str(value)

    def _environment(self, request: dict) -> dict:
        env = {"PATH": defaults.PATH, "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8"}
        env.update(request.get("environment") or {})
        env.update(BANYAN_JOB_ID=self.id, BANYAN_JOB_DIR=self.jobs.dir(self.id),
                   BANYAN_NODE=self.node)
        if self.banyan_url:
            env["BANYAN_URL"] = self.banyan_url
        return env

    def _run_commands(self, request: dict) -> tuple[str, int | None, str | None]:
        timeout = request.get("timeout")
        self.deadline = time.monotonic() + timeout if timeout else None
        env = self._environment(request)
        try:
            env.update(attach.prepare(self.jobs, self.id, request, self.scheduler_url, self.token))
        except attach.Failed as why:
            self.jobs.log_line(self.id, str(why))
            return "failure", None, None
        work = os.path.join(self.jobs.dir(self.id), "work")
        log = os.open(self.jobs.path(self.id, "log"), os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        errors = log
        if request.get("separate_stderr"):
            errors = os.open(self.jobs.path(self.id, "stderr"),
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        grace = request.get("kill_grace", defaults.KILL_GRACE)
        try:
            for command in request.get("commands") or []:
                self._read_control()
                if self.kill_reason:
                    return self.kill_reason, None, None
                argv = command["exec"] if "exec" in command else ["/bin/sh", "-c", command["shell"]]
                try:
                    pid = spawn(argv, work, env, log, errors)
                except OSError as err:
                    self.jobs.log_line(self.id, f"cannot run {argv[0]!r}: {err.strerror}")
                    return "failure", 126 if isinstance(err, PermissionError) else 127, None
                self._put("pid", pid)
                if not self.told_start:  # once its first command runs, not to slow its start
                    self.told_start = True  # (the scheduler's poll learns it too, if need be)
                    reporter.hand(self.report_fd, self.record, self.node, self.scheduler_url,
                                  self.token, alone=False)
                code = self._wait(pid, grace)
                if self.kill_reason:
                    return self.kill_reason, *_status(code)
                if code != 0:
                    return "failure", *_status(code)
            return "success", 0, None
        finally:
            os.close(log)
            if errors != log:
                os.close(errors)

    def _wait(self, pid: int, grace: float) -> int:
        """Wait for the command, sampling usage, obeying `control`, killing at the deadline
        (which moves on while the job is suspended: suspended time is not running time)."""
        pidfd = os.pidfd_open(pid)
        hard_kill_at = None
        next_sample = time.monotonic() + FIRST_SAMPLE
        try:
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    self._sample(pid)
                    next_sample = now + SAMPLE_EVERY
                deadline = None if self.suspended else self.deadline
                if deadline and now >= deadline and not self.kill_reason:
                    self.kill_reason = "timeout"
                    self.jobs.log_line(self.id, "timeout reached; killing the job")
                if self.kill_reason and hard_kill_at is None:
                    proctree.send(pid, signal.SIGTERM)
                    hard_kill_at = now + grace
                if hard_kill_at is not None and now >= hard_kill_at:
                    proctree.send(pid, signal.SIGKILL)
                    hard_kill_at = float("inf")
                wake_at = [next_sample]
                if deadline and not self.kill_reason:
                    wake_at.append(deadline)
                if hard_kill_at is not None:
                    wake_at.append(hard_kill_at)
                wait_for = min(wake_at)
                ready, _, _ = select.select([pidfd, self.wake_r], [], [], max(0.0, wait_for - now))
                if pidfd in ready:
                    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                    if self.kill_reason:
                        proctree.send(pid, signal.SIGKILL)
                    return code
                if self.wake_r in ready:
                    _drain(self.wake_r)
                    self._read_control(pid)
        finally:
            os.close(pidfd)

    def _read_control(self, pid: int | None = None) -> None:
        """Bring the job in line with what `control` asks: kill, suspend or continue."""
        wanted = self.jobs.get(self.id, "control")
        if wanted == "kill" and not self.kill_reason:
            self.kill_reason = "killed"
        elif pid and wanted == "suspend" and not self.suspended and not self.kill_reason:
            proctree.send(pid, signal.SIGSTOP)
            self.suspended = time.monotonic()
            self._put("state", "suspended")
        elif pid and wanted == "continue" and self.suspended:
            proctree.send(pid, signal.SIGCONT)
            if self.deadline:
                self.deadline += time.monotonic() - self.suspended
            self.suspended = 0.0
            self._put("state", "running")

    def _sample(self, pid: int) -> None:
        rss, cpu = proctree.sample(pid)
        self.peak_rss = max(self.peak_rss, rss)
        self._put("usage", f"{self.peak_rss} {cpu:.2f}")

    def _finish(self, result: str, exit_status: int | None, signame: str | None) -> None:
        self._put("usage", f"{self.peak_rss} {_children_cpu() - self.used_before:.2f}")
        if exit_status is not None:
            self._put("exit-status", exit_status)
        if signame:
            self._put("signal", signame)
        self._put("result", result)
        self._put("status", "good" if result == "success" else "error")
        self._put("finished-at", timefmt.iso(time.time()))
        self._put("state", "stopped")


class _Signals:
    """SIGUSR1 (look at `control`) and SIGTERM (kill the attempt) wake an attempt's wait
    through a self-pipe. Set up once per process, at its first attempt: set up and torn
    down per attempt they cost ~35 µs of each job (`signal.signal` converts every call
    to and from enums). Between attempts, SIGTERM kills the process, as by default."""

    wake_r = -1
    running: "Supervisor | None" = None

    @classmethod
    def attach(cls, supervisor: "Supervisor") -> int:
        """Make `supervisor` the one SIGTERM is for; the read end of the wake pipe, emptied
        of what signals between attempts left there."""
        if cls.wake_r < 0:
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            signal.set_wakeup_fd(w)
            signal.signal(signal.SIGUSR1, lambda *_: None)
            signal.signal(signal.SIGTERM, cls._on_term)
            cls.wake_r = r
        _drain(cls.wake_r)
        cls.running = supervisor
        return cls.wake_r

    @classmethod
    def detach(cls) -> None:
        cls.running = None

    @classmethod
    def _on_term(cls, _signum, _frame) -> None:
        if cls.running is not None:
            cls.running.kill_reason = "killed"
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def spawn(argv: list[str], work: str, env: dict, out: int, err: int) -> int:
    """Start a command as `subprocess.Popen` would (found on the job's own PATH, in `work`,
    in a session of its own, stdin from /dev/null, SIGPIPE and SIGXFSZ back to their
    defaults), but with posix_spawn: Popen's own Python cost 0.2 ms more of each job's
    start here. Its pid; OSError if it cannot run, as from Popen.

    posix_spawn has no working-directory action, so the supervisor, which has a single
    thread, steps into `work` for the call and back. Its own files are opened O_CLOEXEC
    (PEP 446), so the command inherits only its stdin, stdout and stderr."""
    home = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(work)
        return os.posix_spawn(
            _executable(argv[0], env.get("PATH", os.defpath)), argv, env,
            file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                          (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, err, 2)],
            setsid=True, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    finally:
        os.fchdir(home)
        os.close(home)


def _executable(name: str, path: str) -> str:
    """`name` looked up in `path` as execvp(3) does: as is if it holds a slash; else the
    first executable file of that name; PermissionError if only unexecutable ones exist."""
    if "/" in name:
        return name
    denied = None
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            denied = denied or candidate
    if denied:
        raise PermissionError(13, "Permission denied", denied)
    raise FileNotFoundError(2, "No such file or directory", name)


def _children_cpu() -> float:
    """CPU seconds of every command this process has waited for (its ru_maxrss would count
    the pre-exec forks, so the peak comes from samples instead)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _status(code: int) -> tuple[int, str | None]:
    """A wait status as (exit-status, signal name): a signal gives 128+n, as a shell reports it."""
    if code < 0:
        return 128 - code, signal.Signals(-code).name.removeprefix("SIG")
    return code, None


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass
