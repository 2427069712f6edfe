"""Follow: learn what happened to placed jobs, from node reports and by asking nodes.

Nodes push a report when jobs end (the daemon wakes on it); every `tick` the pass
also asks each node about its running jobs, which is the safety net for a lost
report and the heartbeat that keeps a node `up`. A node silent for `node_timeout`
goes `down`, and its jobs are `lost` (then retried while attempts remain).
"""

from concurrent.futures import ThreadPoolExecutor

from .. import timefmt
from ..errors import NotFound
from ..spool import Spool, events
from ..spool import ids as job_ids
from ..states import ON_NODE, Result, State, status_of
from . import lifecycle
from .nodeclient import NodeClients, NodeError
from .place import Placer

RESULTS = {r.value for r in Result}


class Follower:
    def __init__(self, spool: Spool, clients: NodeClients, placer: Placer,
                 node_timeout: float, tick: float):
        self.spool = spool
        self.clients = clients
        self.placer = placer
        self.node_timeout = node_timeout
        self.tick = tick
        self._polled: dict[str, float] = {}
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="banyan-poll")

    def read_reports(self, now: float) -> list[str]:
        finished = []
        for report in self.spool.reports.take():
            node = report.get("node")
            if isinstance(node, str) and self.spool.nodes.exists(node):
                self.spool.nodes.seen(node, now)
                finished += self.apply(node, report["jobs"], now)
        return finished

    def apply(self, node: str, records: list[dict], now: float) -> list[str]:
        """Bring job records in line with what `node` says; returns the ids that stopped."""
        finished = []
        for rec in records:
            job_id = rec.get("id") if isinstance(rec, dict) else None
            if not isinstance(job_id, str) or not self._is_current(job_id, node, rec):
                continue
            state = rec.get("state")
            if rec.get("progress") and rec["progress"] != self.spool.jobs.get(job_id, "progress"):
                self.spool.jobs.put(job_id, "progress", rec["progress"])
            if state in ("running", "suspended", "stopped"):
                self.placer.confirm(job_id, rec, now)
            if state == "stopped":
                began, ended = (timefmt.parse(rec.get(k)) for k in ("started-at", "finished-at"))
                if began is not None and ended is not None:
                    self.placer.ran(node, ended - began)
                self.finish(job_id, rec, now)
                finished.append(job_id)
            elif state in ("running", "suspended"):
                self._mirror_suspension(job_id, state, now)
        return finished

    def _is_current(self, job_id: str, node: str, rec: dict) -> bool:
        """Only the attempt the scheduler placed last, on the node it placed it on, counts."""
        if not job_ids.valid(job_id) or not self.spool.index.is_running(job_id):
            return False
        if self.spool.jobs.get(job_id, "node") != node:
            return False
        return str(rec.get("attempt")) == (self.spool.jobs.get(job_id, "attempts") or "")

    def _mirror_suspension(self, job_id: str, node_state: str, now: float) -> None:
        ours = self.spool.jobs.get(job_id, "state")
        if node_state == "suspended" and ours == State.RUNNING.value:
            self.spool.jobs.transition(job_id, State.SUSPENDED, "suspended", "", now)
        elif node_state == "running" and ours == State.SUSPENDED.value:
            self.spool.jobs.transition(job_id, State.RUNNING, "continued", "", now)

    def finish(self, job_id: str, rec: dict, now: float) -> None:
        """The node says the attempt stopped: retry it if allowed, else record the outcome."""
        result = Result(rec["result"]) if rec.get("result") in RESULTS else Result.FAILURE
        exit_status = rec.get("exit-status")
        detail = f"exit-status {exit_status}" if exit_status is not None else ""
        if rec.get("signal"):
            detail += f" signal {rec['signal']}"
        if rec.get("usage"):
            self.spool.jobs.put(job_id, "usage", rec["usage"])
        if rec.get("signal"):
            self.spool.jobs.put(job_id, "signal", rec["signal"])
        self.end_attempt(job_id, result, detail.strip(), now, exit_status)

    def end_attempt(self, job_id: str, result: Result, detail: str, now: float,
                    exit_status: int | None = None) -> None:
        max_attempts = self.placer.request(job_id)["max_attempts"]
        self.placer.forget(job_id)
        attempts = int(self.spool.jobs.get(job_id, "attempts") or 0)
        if result in (Result.FAILURE, Result.LOST) and attempts < max_attempts:
            events.record(self.spool.layout, job_id, f"attempt-{result.value}", detail, now)
            lifecycle.requeue(self.spool, job_id, "retry", f"attempt {attempts + 1} of {max_attempts}", now)
            return
        lifecycle.stop(self.spool, job_id, result, detail, now, exit_status)

    def poll(self, now: float, force: bool = False) -> list[str]:
        """Ask each node about its jobs once per tick (all of them with `force`)."""
        by_node: dict[str, list[str]] = {name: [] for name in self.spool.nodes.names()}
        for job_id in self.spool.index.running():
            node = self.spool.jobs.get(job_id, "node")
            if node in by_node and self.spool.jobs.get(job_id, "state") in {s.value for s in ON_NODE}:
                by_node[node].append(job_id)
        due = [(node, ids) for node, ids in by_node.items()
               if force or now - self._polled.get(node, 0) >= self.tick]
        for node, _ in due:
            self._polled[node] = now
        asked = self._pool.map(lambda item: self.ask(*item), due)  # a hung node delays no other
        finished = []
        for (node, ids), answer in zip(due, asked):
            finished += self.settle(node, ids, answer, now)
        return finished

    def poll_node(self, node: str, ids: list[str], now: float) -> list[str]:
        return self.settle(node, ids, self.ask(node, ids), now)

    def ask(self, node: str, ids: list[str]) -> tuple[dict, list[dict] | NodeError] | None:
        """The node's records of `ids` (an empty list is the heartbeat): network only."""
        try:
            info = self.spool.nodes.get(node)
        except NotFound:
            return None
        client = self.clients.get(info["uri"])
        try:
            records = client.statuses(ids)  # with none, a cheap heartbeat (health scans the node)
        except NodeError as err:
            return info, err
        return info, records

    def settle(self, node: str, ids: list[str], answer, now: float) -> list[str]:
        """Apply what `ask` got: the records, or the node's silence."""
        if answer is None:
            return []
        info, records = answer
        if isinstance(records, NodeError):
            return self._silent(node, info, ids, str(records), now)
        client = self.clients.get(info["uri"])
        self.spool.nodes.seen(node, now)
        if info["state"] == "down":
            self.spool.nodes.set(node, "state", "up")
            self.returned(node, client, now)
        finished = self.apply(node, records, now)
        known = {r.get("id") for r in records}
        for job_id in ids:
            if job_id not in known and self.spool.jobs.get(job_id, "state") != State.STARTING.value:
                self.end_attempt(job_id, Result.LOST, f"node {node} has no record of it", now)
                finished.append(job_id)
        return finished

    def returned(self, node: str, client, now: float) -> None:
        """A node that was `down` answers again. Its copy of a job counts only if it is the
        attempt the scheduler placed last, there: a job marked `lost` and not retried is
        adopted with its real outcome (back to `running` if it still runs). Any other copy
        that still runs was retried elsewhere, or is unknown here: it is killed."""
        try:
            records = client.statuses(None)
        except NodeError:
            return
        jobs = self.spool.jobs
        for rec in records:
            job_id = rec.get("id")
            if not isinstance(job_id, str) or not job_ids.valid(job_id):
                continue
            ours = jobs.exists(job_id) and jobs.get(job_id, "node") == node and \
                str(rec.get("attempt")) == jobs.get(job_id, "attempts")
            if ours and jobs.get(job_id, "result") == Result.LOST.value:
                if rec.get("state") == "stopped":
                    self._adopt_outcome(job_id, rec, now)
                else:
                    jobs.put(job_id, "result", "")
                    jobs.put(job_id, "status", "unknown")
                    self.spool.index.add_running(job_id)
                    jobs.transition(job_id, State.RUNNING, "adopted", f"still running on node {node}",
                                    now, force=True)
            elif not ours and rec.get("state") in ("starting", "running", "suspended"):
                try:
                    client.control(job_id, "kill")
                except NodeError:
                    continue
                if jobs.exists(job_id):
                    events.record(self.spool.layout, job_id, "stale-killed",
                                  f"attempt {rec.get('attempt')} on node {node}", now)

    def _adopt_outcome(self, job_id: str, rec: dict, now: float) -> None:
        """The attempt marked `lost` had in fact ended: record how (its dependents were
        already judged on `lost` and stay as they are)."""
        result = rec.get("result") if rec.get("result") in RESULTS else Result.FAILURE.value
        jobs = self.spool.jobs
        if rec.get("exit-status") is not None:
            jobs.put(job_id, "exit-status", rec["exit-status"])
        jobs.put(job_id, "result", result)
        jobs.put(job_id, "status", status_of(Result(result)).value)
        events.record(self.spool.layout, job_id, "adopted", f"ended {result} while its node was down", now)

    def _silent(self, node: str, info: dict, ids: list[str], why: str, now: float) -> list[str]:
        last = timefmt.parse(info.get("last-seen")) or 0
        if now - last < self.node_timeout:
            return []
        if info["state"] != "down":
            self.spool.nodes.set(node, "state", "down")
        finished = []
        for job_id in ids:
            self.end_attempt(job_id, Result.LOST, f"node unreachable: {why}", now)
            finished.append(job_id)
        return finished
