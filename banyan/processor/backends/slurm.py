"""The Slurm backend: each job attempt is one Slurm batch job.

`launch` writes the attempt's batch script (batchscript.py) as `batch.sh` in its folder,
then sbatch-es it with the comment `banyan:<node>:<id>:<attempt>` and records Slurm's job
id in `slurm-job-id`. `batch.sh` without `slurm-job-id` means a crash may have come
between sbatch and that write: before submitting again, the job is looked for in squeue
by its comment, so a repeated request never submits twice.

A follower thread asks squeue about every active attempt each POLL seconds and brings
its folder in line (slurmstates.py): it ends attempts Slurm says are over, begins the
kill of those past their `timeout`, finishes kills past their `kill_grace`, and reports
each end to the scheduler. kill = `scancel --signal=TERM --full`, and `scancel` after
`kill_grace` (then Slurm's own KillWait before SIGKILL); a kill in progress is the
attempt's `stopping` file: `<killed|timeout> <time of the scancel>`.
"""

import os
import threading
import time

from ... import crash, logline, timefmt
from ...errors import Conflict
from ...spool.atomic import write_text
from ...spool.procjobs import ProcessorJobs
from .. import attach, report
from . import ACTIVE, Backend, batchscript, control_applies, slurmcli, slurmstates
from .slurmcli import SlurmError

POLL = 0.5
"""Seconds between squeue calls while attempts are active: how late an end or a timeout is seen."""


class SlurmBackend(Backend):
    name = "slurm"

    def __init__(self, jobs: ProcessorJobs, node: str, scheduler_url: str | None,
                 banyan_url: str | None, token: str | None,
                 partition: str | None = None, account: str | None = None):
        super().__init__(jobs)
        self.node = node
        self.scheduler_url = scheduler_url
        self.banyan_url = banyan_url
        self.token = token
        self.partition = partition
        self.account = account
        self.lock = threading.RLock()  # one writer at a time of any attempt's files
        self.active: set[str] = set()  # attempts not yet stopped
        self.seen: dict[str, str] = {}  # the last Slurm state of each, for its record
        self.cancelled: set[str] = set()  # attempts whose `scancel` has been sent

    # Launch: sbatch, at most once per attempt.

    def accept(self, body: dict) -> dict:
        with self.lock:
            return super().accept(body)

    def launch(self, job_id: str, job: dict) -> None:
        with self.lock:
            self.active.add(job_id)
            if self.slurm_id(job_id) or self.jobs.get(job_id, "state") != "starting":
                return
            attempt = int(self.jobs.get(job_id, "attempt") or 1)
            job_dir = self.jobs.dir(job_id)
            tmp = self.jobs.layout.tmp
            try:  # the bundle and input, unpacked into work/ on the shared folder
                extra = attach.prepare(self.jobs, job_id, job, self.scheduler_url, self.token)
            except attach.Failed as why:
                self.jobs.log_line(job_id, str(why))
                self._end(job_id, "failure")
                return
            script = batchscript.script(job_id, attempt, job, job_dir=job_dir, tmp_dir=tmp,
                                        node=self.node, banyan_url=self.banyan_url,
                                        home=os.environ.get("HOME", "/"), extra_env=extra)
            write_text(tmp, self.jobs.path(job_id, "batch.sh"), script.rstrip("\n"))
            opts = batchscript.options(job, comment=self._comment(job_id, attempt),
                                       work_dir=os.path.join(job_dir, "work"),
                                       log=self.jobs.path(job_id, "log"),
                                       partition=self.partition, account=self.account)
            try:
                slurm_id = slurmcli.submit(opts, self.jobs.path(job_id, "batch.sh"))
            except SlurmError as err:
                if "did not answer" in str(err):
                    return  # it may have been submitted: the follower looks for it
                self.jobs.log_line(job_id, f"Slurm refused the job: {err}")
                self._end(job_id, "failure")
                return
            crash.point("processor.slurm-submitted")
            self.jobs.put(job_id, "slurm-job-id", slurm_id)

    def launched(self, job_id: str) -> bool:
        return self.jobs.get(job_id, "slurm-job-id") is not None

    def slurm_id(self, job_id: str) -> str | None:
        """The attempt's Slurm job id; found by its comment if sbatch ran but its answer was lost."""
        known = self.jobs.get(job_id, "slurm-job-id")
        if known or not os.path.exists(self.jobs.path(job_id, "batch.sh")):
            return known
        found = slurmcli.find(self._comment(job_id, int(self.jobs.get(job_id, "attempt") or 1)))
        if found:
            self.jobs.put(job_id, "slurm-job-id", found)
        return found

    def _comment(self, job_id: str, attempt: int) -> str:
        return f"banyan:{self.node}:{job_id}:{attempt}"

    def retire(self, job_id: str) -> None:
        """Cancel the older attempt if Slurm still has it; what it writes stays in attempts/<n>/."""
        with self.lock:
            if self.jobs.get(job_id, "state") in ACTIVE:
                slurm_id = self.slurm_id(job_id)
                if slurm_id:
                    _quietly(slurmcli.cancel, slurm_id)
            self._forget(job_id)

    # What the API reads and asks.

    def record(self, job_id: str) -> dict:
        rec = self.jobs.record(job_id)
        slurm_id = self.jobs.get(job_id, "slurm-job-id")
        if slurm_id:
            rec["slurm-job-id"] = slurm_id
        if job_id in self.seen:
            rec["slurm-state"] = self.seen[job_id]
        return rec

    def control(self, job_id: str, action: str) -> dict:
        with self.lock:
            state = self.record(job_id)["state"]
            if not control_applies(state, action, job_id):
                return self.record(job_id)
            slurm_id = self.slurm_id(job_id)
            if action == "kill":
                self._kill(job_id, slurm_id, "killed", state)
            elif slurm_id is None:
                raise Conflict(f"job {job_id} has no Slurm job yet")
            elif action == "suspend":
                try:
                    slurmcli.suspend(slurm_id)
                except SlurmError as err:
                    raise Conflict(f"Slurm did not suspend job {job_id}: {err}") from None
                self._set_suspended(job_id, True)
            else:
                self._set_suspended(job_id, False)  # before the batch script may end
                try:
                    slurmcli.resume(slurm_id)
                except SlurmError as err:
                    self._set_suspended(job_id, True)
                    raise Conflict(f"Slurm did not resume job {job_id}: {err}") from None
            return self.record(job_id)

    def _set_suspended(self, job_id: str, suspended: bool) -> None:
        """Write `state`, and keep the time spent suspended, which is not running time
        (`suspended-at` while it lasts, then added to `suspended-for`, in seconds)."""
        now = time.time()
        if suspended:
            self.jobs.put(job_id, "suspended-at", timefmt.iso(now))
            self.jobs.put(job_id, "state", "suspended")
            return
        since = timefmt.parse(self.jobs.get(job_id, "suspended-at"))
        if since:
            before = float(self.jobs.get(job_id, "suspended-for") or 0)
            self.jobs.put(job_id, "suspended-for", f"{before + now - since:.3f}")
            os.unlink(self.jobs.path(job_id, "suspended-at"))
        self.jobs.put(job_id, "state", "running")

    def _running_time(self, job_id: str, now: float) -> float | None:
        """Seconds the attempt has run, suspensions left out; None before it started."""
        started = timefmt.parse(self.jobs.get(job_id, "started-at"))
        if started is None:
            return None
        suspended = float(self.jobs.get(job_id, "suspended-for") or 0)
        since = timefmt.parse(self.jobs.get(job_id, "suspended-at"))
        return now - started - suspended - (now - since if since else 0)

    def _kill(self, job_id: str, slurm_id: str | None, reason: str, state: str) -> None:
        """Begin a kill: TERM to a running job's processes, scancel at once for the others."""
        if self._stopping(job_id):
            return
        if slurm_id is None:
            self._end(job_id, reason)
            return
        now = time.time()
        if state == "running":
            grace = self.jobs.request(job_id).get("kill_grace") or 0
            self.jobs.put(job_id, "stopping", f"{reason} {timefmt.iso(now + grace)}")
            _quietly(slurmcli.signal, slurm_id, "TERM")
        else:  # pending: nothing runs; suspended: Slurm drops signals to it, but scancel resumes it
            self.jobs.put(job_id, "stopping", f"{reason} {timefmt.iso(now)}")
            self._cancel(job_id, slurm_id)

    def _cancel(self, job_id: str, slurm_id: str) -> None:
        """scancel once; if Slurm did not take it (slurmctld down), the next poll tries again."""
        try:
            slurmcli.cancel(slurm_id)
        except SlurmError:
            return
        self.cancelled.add(job_id)

    def _stopping(self, job_id: str) -> tuple[str, float] | None:
        text = self.jobs.get(job_id, "stopping")
        if not text:
            return None
        reason, _, when = text.partition(" ")
        return reason, timefmt.parse(when) or 0.0

    def recover(self) -> int:
        """At start: follow every active attempt again, and submit those a crash left unsubmitted."""
        launched = 0
        with self.lock:
            for job_id in self.jobs.ids():
                if self.jobs.get(job_id, "state") in ACTIVE:
                    self.active.add(job_id)
                    if not self.launched(job_id):
                        try:
                            self.launch(job_id, self.jobs.request(job_id))
                            launched += 1
                        except SlurmError:
                            pass  # the follower tries again
        threading.Thread(target=self._follow, name="slurm-follower", daemon=True).start()
        return launched

    def health(self) -> dict:
        """The partition's capacity: its nodes that can run jobs, added up."""
        partition = self.partition or slurmcli.default_partition()
        nodes = [n for n in slurmcli.partition_nodes(partition) if _usable(n["state"])]
        return {"backend": self.name, "partition": partition, "nodes": len(nodes),
                "cores": sum(n["cpus"] for n in nodes),
                "memory": sum(n["memory"] for n in nodes) << 20,
                "gpus": sum(_gpus(n["gres"]) for n in nodes),
                "load": slurmcli.allocated_cpus(partition), "running": self.running()}

    # The follower.

    def _follow(self) -> None:
        while True:
            time.sleep(POLL)
            try:
                ended = self.follow()
            except SlurmError as err:
                logline.warn(f"banyan processor: {err}")
                continue
            except Exception:  # noqa: BLE001 - the follower must outlive any one bad folder
                logline.trace()
                continue
            for job_id in ended:
                report.send([self.jobs.record(job_id)], self.node, self.scheduler_url, self.token)

    def follow(self) -> list[str]:
        """One look at Slurm for every active attempt; the ids that stopped."""
        with self.lock:
            by_slurm_id, unknown = {}, []
            for job_id in sorted(self.active):
                if not self.jobs.exists(job_id) or self.jobs.get(job_id, "state") == "stopped":
                    self._forget(job_id)
                    continue
                slurm_id = self.slurm_id(job_id)
                if slurm_id:
                    by_slurm_id[slurm_id] = job_id
                elif self.jobs.get(job_id, "state") == "starting":
                    # a crash came before sbatch, or sbatch did not answer
                    self.launch(job_id, self.jobs.request(job_id))
                else:
                    unknown.append(job_id)  # it ran, and slurmctld has forgotten it
            seen = slurmcli.states(list(by_slurm_id)) if by_slurm_id else {}
            now = time.time()
            ended = [job_id for job_id in unknown if self._reconcile(job_id, None, None, now)]
            for slurm_id, job_id in by_slurm_id.items():
                if self._reconcile(job_id, slurm_id, seen.get(slurm_id), now):
                    ended.append(job_id)
        return ended

    def _reconcile(self, job_id: str, slurm_id: str | None, seen: tuple[str, str] | None,
                   now: float) -> bool:
        """Bring one attempt in line with Slurm's view of it; True if it stopped."""
        stopping = self._stopping(job_id)
        if seen is None or slurmstates.processor_state(seen[0]) == "stopped":
            slurm_state = seen[0] if seen else None
            self._end(job_id, slurmstates.result(slurm_state, self.jobs.get(job_id, "batch-result"),
                                                 stopping[0] if stopping else None),
                      slurm_id, slurm_state, stopping is not None)
            return True
        slurm_state, why = seen
        self.seen[job_id] = f"{slurm_state} ({why})" if why and why != "None" else slurm_state
        ours, theirs = self.jobs.get(job_id, "state"), slurmstates.processor_state(slurm_state)
        if ours in ("running", "suspended") and theirs in ("running", "suspended") and ours != theirs:
            self._set_suspended(job_id, theirs == "suspended")  # by scontrol, outside Banyan
            ours = theirs
        if stopping is None:
            timeout = self.jobs.request(job_id).get("timeout")
            ran = self._running_time(job_id, now)
            if timeout and ran is not None and ours == "running" and ran >= timeout:
                self.jobs.log_line(job_id, "timeout reached; killing the job")
                self._kill(job_id, slurm_id, "timeout", ours)
        elif now >= stopping[1] and job_id not in self.cancelled:
            self._cancel(job_id, slurm_id)
        return False

    def _end(self, job_id: str, result: str, slurm_id: str | None = None,
             slurm_state: str | None = None, banyan_stopped: bool = False) -> str:
        """Record the attempt's end: the processor's side of it (the batch script wrote its own)."""
        recorded = self.jobs.get(job_id, "exit-status") is not None
        started = self.jobs.get(job_id, "started-at") is not None
        if not recorded and started and slurmstates.killed_hard(slurm_state, banyan_stopped):
            self.jobs.put(job_id, "exit-status", 137)
            self.jobs.put(job_id, "signal", "KILL")
        if slurm_state not in (None, "COMPLETED", "FAILED"):
            self.jobs.log_line(job_id, f"Slurm job {slurm_id} ended {slurm_state}")
        elif result == "lost":
            self.jobs.log_line(job_id, f"Slurm has no record of job {slurm_id or '(never recorded)'}, "
                                       "and the batch script recorded no end: the attempt is lost")
        if self.jobs.get(job_id, "finished-at") is None:
            self.jobs.put(job_id, "finished-at", timefmt.iso())
        self.jobs.put(job_id, "result", result)
        self.jobs.put(job_id, "status", "good" if result == "success" else "error")
        self.jobs.put(job_id, "state", "stopped")
        self._forget(job_id)
        return job_id

    def _forget(self, job_id: str) -> None:
        self.active.discard(job_id)
        self.seen.pop(job_id, None)
        self.cancelled.discard(job_id)


def _quietly(action, *args) -> None:
    """A scancel or scontrol whose failure changes nothing: the follower sees what happened."""
    try:
        action(*args)
    except SlurmError:
        pass


def _usable(state: str) -> bool:
    return not any(word in state for word in ("down", "drain", "fail", "maint", "inval", "unk"))


def _gpus(gres: str) -> int:
    """GPUs in a node's sinfo %G, e.g. `gpu:2` or `gpu:a100:4(S:0-1),shard:8`."""
    total = 0
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and parts[-1].isdigit():
            total += int(parts[-1])
    return total
