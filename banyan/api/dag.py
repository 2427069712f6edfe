"""`GET /scheduler/jobs/<id>/dag`: the job's parents, children, dependencies and dependents, read now.

Each list is the whole walk in its direction, nearest first: `parents` up the chain of
submitters, `children` every descendant, `dependencies` everything upstream,
`dependents` everything downstream. Each job is `{"id", "state", "status"}` plus its
`name`, `parent` and `depends_on`, so a client can draw the edges (`banyan.dag_dot`).
`?depth=N` stops N steps out. Readers take no lock: every file read was renamed whole.
"""

import re

import bottle

from .. import defaults
from ..errors import BadRequest, NotFound
from ..spool import Spool, ids
from . import views

RELATIONS = ("parents", "children", "dependencies", "dependents")


def node(spool: Spool, job_id: str) -> dict:
    """One job as the walk shows it; a job that does not exist has state and status None."""
    jobs = spool.jobs
    if jobs.exists(job_id):
        try:
            name = jobs.request(job_id).get("name", "")
        except (ValueError, NotFound):
            name = ""
        return {"id": job_id, "state": jobs.get(job_id, "state"), "status": jobs.get(job_id, "status"),
                "name": name, "parent": jobs.get(job_id, "parent"),
                "depends_on": jobs.lines(job_id, "depends-on")}
    found = views.incoming_request(spool, job_id)
    request = found[0] if found else {}
    deps = request.get("depends_on")
    parent = request.get("parent")
    return {"id": job_id, "state": "incoming" if found else None, "status": "unknown" if found else None,
            "name": request.get("name", ""), "parent": parent if ids.valid(parent) else None,
            "depends_on": [d for d in deps if ids.valid(d)] if isinstance(deps, list) else []}


def walk(spool: Spool, job_id: str, depth: int | None = None) -> dict:
    """The four walks from `job_id` (which must exist), each capped at LIST_LIMIT_MAX jobs."""
    root = views.record(spool, job_id)
    start = node(spool, job_id)
    steps = {
        "parents": lambda n: [n["parent"]] if n["parent"] else [],
        "children": lambda n: spool.jobs.lines(n["id"], "children") if n["state"] else [],
        "dependencies": lambda n: n["depends_on"],
        "dependents": lambda n: spool.jobs.lines(n["id"], "dependents") if n["state"] else [],
    }
    out = {"id": job_id, "state": root["state"], "status": root["status"], "name": start["name"],
           "parent": start["parent"], "depends_on": start["depends_on"], "truncated": False}
    for relation, step in steps.items():
        seen, found, level = {job_id}, [], [start]
        for _ in range(depth if depth is not None else defaults.LIST_LIMIT_MAX):
            following = []
            for one in level:
                for other in step(one):
                    if other not in seen and ids.valid(other):
                        seen.add(other)
                        following.append(node(spool, other))
            if not following:
                break
            found += following
            level = following
            if len(found) >= defaults.LIST_LIMIT_MAX:
                out["truncated"] = True
                found = found[:defaults.LIST_LIMIT_MAX]
                break
        out[relation] = found
    return out


def install(app: bottle.Bottle, spool: Spool) -> None:
    @app.get("/scheduler/jobs/<job_id>/dag")
    def job_dag(job_id):
        depth = bottle.request.query.get("depth")
        if depth is not None and not re.fullmatch(r"[0-9]{1,6}", depth):
            raise BadRequest("depth must be a whole number")
        return walk(spool, job_id, None if depth is None else int(depth))
