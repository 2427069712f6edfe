"""What users ask of one job outside a pass: kill, update. Each holds the pass lock.

Routes call these (STYLE practice 11: routes check and reply, actions act), so a
transition never races a pass.
"""

from contextlib import contextmanager

from ..errors import Conflict
from ..spool import Spool, events
from ..spool.lock import hold
from ..states import ON_NODE, PENDING, Result, State
from . import lifecycle
from .follow import Follower
from .nodeclient import NodeClients, NodeError
from .place import Placer

LOCK_WAIT = 30.0
"""Seconds an action waits for a running pass to finish before answering 503."""


class Actions:
    def __init__(self, spool: Spool, token: str | None = None):
        self.spool = spool
        self.clients = NodeClients(token)

    @contextmanager
    def locked(self):
        lock = self.spool.pass_lock()
        hold(lock, LOCK_WAIT)
        try:
            yield
        finally:
            lock.release()

    def kill(self, job_id: str, now: float) -> dict:
        """Cancel a pending job (and its dependents) at once, or ask its node to kill it;
        then the same for its children and theirs: pending ones are cancelled, running
        ones killed. Killing a stopped job changes nothing in its own record, but still
        reaches its children (killing a finished graph's group stops what remains of it).
        """
        with self.locked():
            self._kill_one(job_id, "killed by request", now)
            for child in self.descendants(job_id):
                self._kill_one(child, f"parent {job_id} was killed", now)
        return self.spool.jobs.record(job_id)

    def _kill_one(self, job_id: str, why: str, now: float) -> None:
        state = self.spool.jobs.state(job_id)
        if state in PENDING:
            events.record(self.spool.layout, job_id, "kill-requested", why, now)
            lifecycle.cancel(self.spool, job_id, why, now)
        elif state in ON_NODE:
            self._node_kill(job_id, state, now)

    def descendants(self, job_id: str) -> list[str]:
        """Children, grandchildren, ... of the job, each once, nearest first (from `children`)."""
        seen, order = {job_id}, [job_id]
        for one in order:
            for child in self.spool.jobs.lines(one, "children"):
                if child not in seen:
                    seen.add(child)
                    order.append(child)
        return order[1:]

    def _node_kill(self, job_id: str, state: State, now: float, event: str = "kill-requested") -> None:
        """Ask the job's node to kill it; `event` names why in `events` (a user's kill, or
        `evicting` for a node being unregistered, which does not mark its children killed)."""
        node = self.spool.jobs.get(job_id, "node")
        try:
            uri = self.spool.nodes.get(node)["uri"]
            self.clients.get(uri).control(job_id, "kill")
            events.record(self.spool.layout, job_id, event, f"sent to node {node}", now)
        except NodeError as err:
            if state == State.STARTING:  # the node never confirmed it: nothing runs there
                lifecycle.stop(self.spool, job_id, Result.KILLED, f"node {node} unreachable", now)
                return
            events.record(self.spool.layout, job_id, event, f"node {node}: {err}", now)

    def update(self, job_id: str, now: float) -> dict:
        """Ask the job's node now and bring the record up to date."""
        with self.locked():
            if self.spool.index.is_running(job_id):
                placer = Placer(self.spool, self.clients)
                follower = Follower(self.spool, self.clients, placer, float("inf"), 0)
                follower.poll_node(self.spool.jobs.get(job_id, "node"), [job_id], now)
        return self.spool.jobs.record(job_id)

    def evict(self, node: str, now: float) -> None:
        """Before a node is unregistered: kill its jobs there (SIGTERM, grace, SIGKILL) and
        queue them again. Not the job's fault, so this does not use up an attempt's retry."""
        for job_id in self.spool.index.running():
            if self.spool.jobs.get(job_id, "node") != node:
                continue
            state = self.spool.jobs.state(job_id)
            if state in ON_NODE:
                self._node_kill(job_id, state, now, "evicting")
            if self.spool.index.is_running(job_id):
                lifecycle.requeue(self.spool, job_id, "evicted", f"node {node} unregistered", now)

    def hold(self, job_id: str, now: float) -> dict:
        """Keep a pending job from being placed until it is released (HTCondor's hold)."""
        with self.locked():
            state = self.spool.jobs.state(job_id)
            if state not in (State.QUEUED, State.WAITING):
                raise Conflict(f"job {job_id} is {state.value}: only a queued or waiting job can be held")
            if state == State.QUEUED:
                self.spool.index.dequeue(job_id, lifecycle.queue_entry(self.spool, job_id))
            self.spool.jobs.transition(job_id, State.HELD, "held", "by request", now)
        return self.spool.jobs.record(job_id)

    def release(self, job_id: str, now: float) -> dict:
        """A held job goes back to waiting or to the queue, as its dependencies allow."""
        with self.locked():
            state = self.spool.jobs.state(job_id)
            if state != State.HELD:
                raise Conflict(f"job {job_id} is {state.value}: only a held job can be released")
            request = self.spool.jobs.request(job_id)
            verdict, reason = lifecycle.deps_verdict(self.spool, request["depends_on"])
            if verdict == State.QUEUED:
                lifecycle.ready(self.spool, job_id, request, "released", now)
            elif verdict == State.WAITING:
                self.spool.jobs.transition(job_id, State.WAITING, "released", "waiting on dependencies", now)
            else:
                lifecycle.stop(self.spool, job_id, Result.CANCELLED, reason, now)
        return self.spool.jobs.record(job_id)

    def signal(self, job_id: str, action: str, now: float) -> dict:
        """`suspend` a running job or `continue` a suspended one, through its node."""
        want, new = {"suspend": (State.RUNNING, State.SUSPENDED),
                     "continue": (State.SUSPENDED, State.RUNNING)}[action]
        with self.locked():
            state = self.spool.jobs.state(job_id)
            if state != want:
                raise Conflict(f"job {job_id} is {state.value}: cannot {action} it")
            node = self.spool.jobs.get(job_id, "node")
            self.clients.get(self.spool.nodes.get(node)["uri"]).control(job_id, action)
            self.spool.jobs.transition(job_id, new, "suspended" if action == "suspend" else "continued",
                                       f"on node {node}", now)
        return self.spool.jobs.record(job_id)
