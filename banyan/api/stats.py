"""`GET /scheduler/stats`: jobs by state and node, jobs/s over the last minute, queue wait."""

import time

import bottle

from .. import timefmt
from ..spool import Spool, events
from ..states import Result

WINDOW = 60.0
RESULTS = {r.value for r in Result}


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def compute(spool: Spool, now: float) -> dict:
    by_state: dict[str, int] = {"incoming": len(spool.incoming.ids())}
    for job_id in spool.jobs.ids():
        state = spool.jobs.get(job_id, "state") or "unknown"
        by_state[state] = by_state.get(state, 0) + 1
    from ..scheduler.nodeclient import NodeClients
    from ..scheduler.place import Placer
    rooms = Placer(spool, NodeClients(), backlog=0).rooms()  # free now, without the backlog
    by_node = {}
    for node in spool.nodes.all():
        room = rooms[node["name"]]
        by_node[node["name"]] = {"state": node["state"], "cores": node["cores"],
                                 "cores_free": room.cores, "memory_free": room.memory,
                                 "running": 0}
    for job_id in spool.index.running():
        node = spool.jobs.get(job_id, "node")
        if node in by_node:
            by_node[node]["running"] += 1
    submitted, waits, stopped = {}, [], 0
    for line in events.tail_global(spool.layout):
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        when = timefmt.parse(parts[0])
        if when is None:
            continue
        job_id, event = parts[1], parts[2]
        if event == "submitted":
            submitted[job_id] = when
        elif event == "running" and job_id in submitted and now - when <= WINDOW:
            waits.append(when - submitted.pop(job_id))
        elif event in RESULTS and now - when <= WINDOW:
            stopped += 1
    return {
        "by_state": by_state,
        "by_node": by_node,
        "jobs_per_second": round(stopped / WINDOW, 3),
        "queue_wait": {"p50": percentile(waits, 50), "p95": percentile(waits, 95),
                       "samples": len(waits)},
    }


def install(app: bottle.Bottle, spool: Spool) -> None:
    @app.get("/scheduler/stats")
    def stats():
        return compute(spool, time.time())
