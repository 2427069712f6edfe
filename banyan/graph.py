"""Requests that make many jobs at once: a whole graph (`{"jobs": {...}}`) or an array (`"array"`).

`expand(data, gid)` turns one such request into the jobs it makes, each after the jobs
it depends on, with ids that follow from `gid` alone (`<gid>.<name>`, `<gid>.<index>`).
The API runs it to validate before writing one file to `incoming/`; intake runs it again
on that file and gets the same jobs, after a crash too. So a graph is one file, and is
either wholly submitted or not at all.

Each graph and each array is also a group job `gid` (no commands): the parent of its
jobs, depending on those nothing else in it depends on, so it stops `good` when they
all have, `error` as soon as one fails, and killing it kills the whole graph.
"""

from dataclasses import dataclass, field

from . import arrays
from .defaults import MAX_GRAPH
from .errors import BadRequest
from .request import normalise
from .spool import ids

GRAPH_FIELDS = {"jobs", "name", "parent", "request_id"}


@dataclass
class Member:
    id: str
    request: dict
    children: list[str] = field(default_factory=list)


def is_many(data: dict) -> bool:
    """True for a request that makes several jobs: a graph or an array."""
    return "jobs" in data or data.get("array") is not None


def expand(data: dict, gid: str) -> tuple[list[Member], dict[str, str]]:
    """The jobs `data` makes, dependencies first and the group `gid` last; and name → id."""
    if "jobs" in data:
        return _graph(data, gid)
    request = normalise(data)
    members = _array(request, gid, 0)
    return members, {m.request["environment"]["BANYAN_ARRAY_INDEX"]: m.id for m in members[:-1]}


def _member_id(gid: str, name: str) -> str:
    job_id = f"{gid}.{name}"
    if not ids.valid(job_id):
        raise BadRequest(f"id {job_id[:80]!r} would be over 64 characters: use shorter names")
    return job_id


def _graph(data: dict, gid: str) -> tuple[list[Member], dict[str, str]]:
    unknown = sorted(set(data) - GRAPH_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r} in a graph (fields of a job go on each job)")
    jobs = data["jobs"]
    if not isinstance(jobs, dict) or not jobs:
        raise BadRequest("jobs must be an object of name: job request")
    if len(jobs) > MAX_GRAPH:
        raise BadRequest(f"a graph may have at most {MAX_GRAPH} jobs")
    parent = None if data.get("parent") is None else ids.check(data["parent"], "parent id")
    names = {ids.check(name, "job name in jobs"): _member_id(gid, name) for name in jobs}
    requests = {}
    for name, job in jobs.items():
        where = f"jobs.{name}"
        if not isinstance(job, dict):
            raise BadRequest(f"{where} must be a job request object")
        for key in ("request_id", "parent"):
            if key in job:
                raise BadRequest(f"{where}: {key} belongs on the graph, not on one of its jobs")
        job = dict(job, parent=gid)
        job.setdefault("name", name)
        if isinstance(job.get("depends_on"), list):
            job["depends_on"] = [names.get(d, d) if isinstance(d, str) else d for d in job["depends_on"]]
        try:
            requests[name] = normalise(job)
        except BadRequest as err:
            raise BadRequest(f"{where}: {err}") from None
    members: list[Member] = []
    order = _topological(requests, names)
    for name in order:
        request = requests[name]
        if request["array"] is not None:
            members += _array(request, names[name], len(members))
        else:
            request["request_id"] = names[name]
            members.append(Member(names[name], request))
    if len(members) >= MAX_GRAPH:
        raise BadRequest(f"a graph may make at most {MAX_GRAPH} jobs, arrays included")
    if len({m.id for m in members}) < len(members):
        seen: set[str] = set()
        twice = next(m.id for m in members if m.id in seen or seen.add(m.id))
        raise BadRequest(f"two jobs of the graph would both be {twice} (a name and an array task)")
    local = {d for r in requests.values() for d in r["depends_on"]}
    group = {"name": data.get("name", "graph"), "request_id": gid,
             "depends_on": [names[n] for n in order if names[n] not in local]}
    if parent:
        group["parent"] = parent
    members.append(Member(gid, normalise(group), [names[n] for n in order]))
    return members, names


def _topological(requests: dict[str, dict], names: dict[str, str]) -> list[str]:
    """Names in an order where each comes after its local dependencies (Kahn); 400 on a cycle."""
    by_id = {job_id: name for name, job_id in names.items()}
    waiting = {n: {by_id[d] for d in r["depends_on"] if d in by_id} for n, r in requests.items()}
    dependents: dict[str, list[str]] = {n: [] for n in requests}
    for name, deps in waiting.items():
        for dep in deps:
            dependents[dep].append(name)
    order = [n for n in requests if not waiting[n]]
    i = 0
    while i < len(order):
        for name in dependents[order[i]]:
            waiting[name].discard(order[i])
            if not waiting[name]:
                order.append(name)
        i += 1
    if len(order) < len(requests):
        stuck = [n for n in requests if waiting[n]]
        raise BadRequest(f"depends_on makes a cycle among {', '.join(stuck[:6])}")
    return order


def _array(request: dict, aid: str, made: int) -> list[Member]:
    """One task per index (BANYAN_ARRAY_INDEX in its environment), then the group `aid`."""
    indexes, limit = arrays.parse(request["array"])
    if made + len(indexes) >= MAX_GRAPH:
        raise BadRequest(f"a request may make at most {MAX_GRAPH} jobs")
    tasks = []
    for index in indexes:
        task_id = _member_id(aid, str(index))
        env = dict(request["environment"], BANYAN_ARRAY_INDEX=str(index), BANYAN_ARRAY_JOB_ID=aid)
        task = dict(request, parent=aid, request_id=task_id, array=None, environment=env)
        if limit:
            task["array_limit"] = limit
        tasks.append(Member(task_id, task))
    group = dict(request, commands=[], environment={}, request_id=aid,
                 depends_on=[t.id for t in tasks])
    return tasks + [Member(aid, group, [t.id for t in tasks])]
