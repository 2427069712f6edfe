"""Placement: queued jobs, in `ls queue/` order, onto nodes that are up and have room.

A node's room is its size times 1 + `backlog` (defaults.BACKLOG) less what its placed
jobs hold: the node starts what waits there as its cores free up. Nodes with free
cores are chosen first; and when the queue is empty, a job still waiting on a busy
node is withdrawn from it and placed again on a node whose cores are free, so the
backlog never keeps a job from a node that could run it now.

Crash order for one job: write `attempts` and `node`, rename its entry from queue/
to running/ (the commit), write `state` starting, send it to the node. The job stays
`starting` until the node says it runs (its report, or the answer to a poll). A
`starting` job the node has not accepted is (re)sent on every pass; the processor is
idempotent on (request_id, attempt), so a resend never runs it twice.

Under load the daemon sends in the background (`send_in_background`): a pass commits its
placements, hands the batches to a small pool of threads and goes on, and the pass
after the answers came applies them. Waiting for the node's answer was 30 % of a busy
pass, during which no arrival or end was taken. The commit is on disk before a batch
leaves, so a crash with a batch in flight is the same as a crash after `starting`.
"""

import itertools
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from .. import capacity, crash, defaults, timefmt
from ..errors import NotFound
from ..spool import Spool, events
from ..states import State
from . import lifecycle
from .nodeclient import NodeClients, NodeError

PROCESSOR_FIELDS = ("name", "commands", "environment", "timeout", "kill_grace", "resources",
                    "separate_stderr", "priority")


@dataclass
class Room:
    """What a node has left this pass."""

    name: str
    uri: str
    labels: set
    cores: int
    memory: int
    gpus: int
    state: str
    total: dict = field(default_factory=dict)
    reserve: dict = field(default_factory=dict)
    """The backlog's part of the room: what is left beyond it is free to start now."""

    def fits(self, res: dict) -> bool:
        room = {"cores": self.cores, "memory": self.memory, "gpus": self.gpus}
        return capacity.fits(res, room, self.total["memory"]) and self.could_ever_fit(res)

    def could_ever_fit(self, res: dict) -> bool:
        return capacity.fits(res, self.total, self.total["memory"])

    def free_now(self) -> dict:
        """What the node has free to start a job now: its room, backlog aside."""
        r = self.reserve
        return {"cores": self.cores - r["cores"], "memory": self.memory - r["memory"],
                "gpus": self.gpus - r["gpus"]}

    def matches(self, req: dict) -> bool:
        return not req["node"] or req["node"] == self.name or req["node"] in self.labels

    def take(self, res: dict, sign: int = 1) -> None:
        self.cores -= sign * res["cores"]
        self.memory -= sign * res["memory"]
        self.gpus -= sign * res["gpus"]


class Placer:
    """Keeps the requests it has read (they never change) so a daemon pass reads each once."""

    def __init__(self, spool: Spool, clients: NodeClients, backlog: float = defaults.BACKLOG):
        self.spool = spool
        self.clients = clients
        self.backlog = backlog
        self._requests: dict[str, dict] = {}
        self._accepted: dict[str, int] = {}
        """Job id → the attempt its node has accepted (it waits there to start): not resent."""
        self._unplaceable_noted: set[str] = set()
        self._send_failures_noted: set[tuple[str, str]] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._wake: Callable[[], None] = lambda: None
        self._sent: list[tuple[str, list[str], Future]] = []
        """Batches handed to the pool: (node, ids, the answer to come)."""
        self._in_flight: set[str] = set()
        self._run_seconds: dict[str, float] = {}
        """Node → a moving average of how long its last jobs ran (from their ends)."""
        self.wait_for_answers = True
        """Send from the pass itself and wait for the answer: always without a pool; with
        one, the daemon sets it while the system is quiet, so a lone arrival is spared the
        hop to a pool thread (0.3–0.6 ms of its start here)."""

    def send_in_background(self, wake: Callable[[], None], threads: int = 4) -> None:
        """From now on, batches go from a pool of threads, and `wake()` is called when an
        answer is in (the daemon's next pass applies it)."""
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="banyan-place")
        self._wake = wake

    def request(self, job_id: str) -> dict:
        req = self._requests.get(job_id)
        if req is None:
            req = self._requests[job_id] = self.spool.jobs.request(job_id)
        return req

    def forget(self, job_id: str) -> None:
        self._requests.pop(job_id, None)
        self._accepted.pop(job_id, None)

    def ran(self, node: str, seconds: float) -> None:
        """Note how long a job ran on `node`: a node of short jobs gets a longer backlog."""
        last = self._run_seconds.get(node)
        self._run_seconds[node] = seconds if last is None else 0.8 * last + 0.2 * seconds

    def node_backlog(self, node: str) -> float:
        """The backlog asked for; on a node whose jobs the daemon has seen end, long enough
        to hold `COVER` seconds of their work per core (up to `MAX_BACKLOG`). 0 stays 0."""
        run = self._run_seconds.get(node)
        if self.backlog <= 0 or run is None:
            return self.backlog
        cover = defaults.COVER / max(run, defaults.RUN_FLOOR)
        return max(self.backlog, min(defaults.MAX_BACKLOG, cover))

    def rooms(self) -> dict[str, Room]:
        """Room on every node: its size with the backlog, less what its placed jobs hold."""
        rooms = {}
        for node in self.spool.nodes.all():
            scale = 1 + self.node_backlog(node["name"])
            total = {"cores": node["cores"], "memory": node["memory"], "gpus": node["gpus"]}
            reserve = {k: int(v * scale) - v for k, v in total.items()}
            rooms[node["name"]] = Room(node["name"], node["uri"], set(node["labels"]),
                                       int(total["cores"] * scale), int(total["memory"] * scale),
                                       int(total["gpus"] * scale), node["state"], total, reserve)
        for job_id in self.spool.index.running():
            node = self.spool.jobs.get(job_id, "node")
            if node in rooms:
                rooms[node].take(self.request(job_id)["resources"])
        return rooms

    def array_tasks_placed(self) -> dict[str, int]:
        """Array id → how many of its tasks with a `%N` limit are on a node (`running/`).

        A task leaves `running/` only once the scheduler knows it stopped, so counting
        there never lets more than N run at once, whatever the node says meanwhile.
        """
        counts: dict[str, int] = {}
        for job_id in self.spool.index.running():
            req = self.request(job_id)
            if req.get("array_limit"):
                counts[req["parent"]] = counts.get(req["parent"], 0) + 1
        return counts

    def choose(self, req: dict, rooms: dict[str, Room], avoid: str | None = None) -> Room | None:
        """The up node with the most free cores that matches the `node` name or label;
        `avoid` (where the last attempt failed) only when no other node fits."""
        best = None
        for room in rooms.values():
            if room.state != "up" or not room.fits(req["resources"]) or not room.matches(req):
                continue
            if best is None or (best.name == avoid, -best.cores) > (room.name == avoid, -room.cores):
                best = room
        return best

    def place(self, now: float) -> list[str]:
        """Commit a placement for every queued job that fits, then send them, batched per node."""
        self.collect(now)
        rooms = self.rooms()
        batches: dict[str, list[str]] = {}
        arrays: dict[str, int] | None = None
        queue = self.spool.index.queued()  # one listing of queue/ serves the whole pass
        head = next(queue, None)
        if self._accepted and head is None:
            self.rebalance(rooms, now)
        if head is not None and any(r.state == "up" for r in rooms.values()):
            for name, job_id in itertools.chain((head,), queue):
                if not any(r.state == "up" and r.cores > 0 for r in rooms.values()):
                    if self.request(job_id)["resources"]["cores"] > 0:
                        break
                if self.spool.jobs.get(job_id, "state") != State.QUEUED.value:
                    self.spool.index.dequeue(job_id, name)  # a crash left the entry of a job that moved on
                    continue
                req = self.request(job_id)
                limit = req.get("array_limit")
                if limit:
                    arrays = self.array_tasks_placed() if arrays is None else arrays
                    if arrays.get(req["parent"], 0) >= limit:
                        continue
                room = self.choose(req, rooms, self.spool.jobs.get(job_id, "node"))
                if room is None:
                    self._note_unplaceable(job_id, req, rooms, now)
                    continue
                room.take(req["resources"])
                self._commit(name, job_id, room.name, now)
                crash.point("place.committed")
                batches.setdefault(room.name, []).append(job_id)
                if limit:
                    arrays[req["parent"]] = arrays.get(req["parent"], 0) + 1
        self.resend_starting(batches)
        placed = []
        for node, ids in batches.items():
            placed += self.send(node, ids, now)
        return placed

    def rebalance(self, rooms: dict[str, Room], now: float) -> None:
        """Withdraw each job waiting on a node to a node with room to start it now (the
        placement that follows sends it there); oldest first, while such room lasts."""
        free = {name: r.free_now() for name, r in rooms.items() if r.state == "up"}
        for job_id in sorted(self._accepted):
            node = self.spool.jobs.get(job_id, "node")
            if self.spool.jobs.get(job_id, "state") != State.STARTING.value:
                del self._accepted[job_id]  # it runs, or it ended by a verb of the API
                continue
            if node not in rooms:
                continue
            req = self.request(job_id)
            res = req["resources"]
            to = next((name for name, f in free.items() if name != node and rooms[name].matches(req)
                       and capacity.fits(res, f, rooms[name].total["memory"])), None)
            if to is None:
                continue
            try:
                withdrawn = self.clients.get(rooms[node].uri).withdraw(job_id)
            except NodeError:
                continue
            if withdrawn:  # the node marked that attempt `cancelled`; it never ran
                lifecycle.requeue(self.spool, job_id, "withdrawn",
                                  f"waiting on node {node} while node {to} has room", now)
                self.forget(job_id)
                rooms[node].take(res, -1)
                for k in free[to]:
                    free[to][k] -= res[k]

    def _commit(self, entry: str, job_id: str, node: str, now: float) -> None:
        jobs = self.spool.jobs
        attempt = jobs.starts(job_id) + 1
        jobs.put(job_id, "attempts", attempt)
        jobs.put(job_id, "node", node)
        self.spool.index.to_running(entry, job_id)
        jobs.transition(job_id, State.STARTING, "starting", f"attempt {attempt} on node {node}", now)
        jobs.started(job_id, attempt)

    def resend_starting(self, batches: dict[str, list[str]]) -> None:
        """Add every `starting` job not yet confirmed (a crash, a node that did not answer)."""
        queued = {j for ids in batches.values() for j in ids}
        for job_id in self.spool.index.running():
            if job_id in queued or job_id in self._in_flight:
                continue
            if self.spool.jobs.get(job_id, "state") != State.STARTING.value:
                continue
            if self._accepted.get(job_id) == int(self.spool.jobs.get(job_id, "attempts") or 0):
                continue
            node = self.spool.jobs.get(job_id, "node")
            if node:
                batches.setdefault(node, []).append(job_id)

    def send(self, node: str, ids: list[str], now: float) -> list[str]:
        """POST the batch to the node, or hand it to the pool; returns the ids sent."""
        try:
            client = self.clients.get(self.spool.nodes.get(node)["uri"])
            bodies = [self.processor_request(j) for j in ids]
            if self._pool is None or self.wait_for_answers:
                self._answered(node, ids, client.place(bodies), now)
                return ids
        except (NodeError, NotFound) as err:
            self._send_failed(node, ids, err, now)
            return []
        future = self._pool.submit(client.place, bodies)
        future.add_done_callback(lambda _: self._wake())
        self._sent.append((node, ids, future))
        self._in_flight.update(ids)
        return ids

    def collect(self, now: float) -> None:
        """Apply the answers to the batches sent in the background that have come in."""
        pending = []
        for node, ids, future in self._sent:
            if not future.done():
                pending.append((node, ids, future))
                continue
            self._in_flight.difference_update(ids)
            try:
                self._answered(node, ids, future.result(), now)
            except NodeError as err:
                self._send_failed(node, ids, err, now)
        self._sent = pending

    def _send_failed(self, node: str, ids: list[str], err: Exception, now: float) -> None:
        for job_id in ids:  # they stay `starting`; the node's timeout decides their fate
            if (job_id, node) not in self._send_failures_noted:
                self._send_failures_noted.add((job_id, node))
                events.record(self.spool.layout, job_id, "send-failed", f"node {node}: {err}", now)

    def _answered(self, node: str, ids: list[str], answers: list[dict], now: float) -> None:
        """Confirmed jobs become `running`, refused ones go back to the queue."""
        crash.point("place.sent")
        self.spool.nodes.seen(node, now)
        by_id = {a.get("id"): a for a in answers}
        for job_id in ids:
            if self.spool.jobs.get(job_id, "state") != State.STARTING.value:
                continue  # its start or end was reported, or a user killed it, meanwhile
            answer = by_id.get(job_id, {"error": "no answer for this job"})
            if "error" in answer:
                lifecycle.requeue(self.spool, job_id, "refused", f"node {node}: {answer['error']}", now)
            elif answer.get("state") in ("running", "suspended"):
                self.confirm(job_id, answer, now)  # a resend: it started meanwhile
            else:  # waiting there, or ended already: its report (or the poll) says how
                self._accepted[job_id] = int(answer.get("attempt") or 0)

    def confirm(self, job_id: str, record: dict, now: float) -> None:
        """The node runs the job: `running` from its start time on the node (or now). One
        that has already stopped there only gets its start (`events`, `started-at`): the
        caller records its end next, so `state` goes from `starting` to `stopped` at once."""
        if self.spool.jobs.get(job_id, "state") != State.STARTING.value:
            return
        started = record.get("started-at") or timefmt.iso(now)
        self.spool.jobs.put(job_id, "started-at", started)
        detail = f"attempt {record.get('attempt', '?')}"
        if record.get("state") == "stopped":
            events.record(self.spool.layout, job_id, "running", detail, now)
        else:
            self.spool.jobs.transition(job_id, State.RUNNING, "running", detail, now)

    def processor_request(self, job_id: str) -> dict:
        req = self.request(job_id)
        body = {k: req[k] for k in PROCESSOR_FIELDS}
        body["request_id"] = job_id
        body["attempt"] = int(self.spool.jobs.get(job_id, "attempts") or 1)
        files = self.spool.jobs.attachments(job_id)
        if files:  # the node fetches them from GET /scheduler/jobs/<id>/files/<name>
            body["files"] = files
        return body

    def _note_unplaceable(self, job_id: str, req: dict, rooms: dict, now: float) -> None:
        if job_id in self._unplaceable_noted:
            return
        candidates = [r for r in rooms.values() if r.matches(req)]
        if any(r.could_ever_fit(req["resources"]) for r in candidates):
            return
        self._unplaceable_noted.add(job_id)
        res = req["resources"]
        events.record(self.spool.layout, job_id, "unplaceable",
                      f"no registered node{' matching ' + req['node'] if req['node'] else ''} "
                      f"has {res['cores']} cores, {res['memory']} bytes, {res['gpus']} gpus", now)
