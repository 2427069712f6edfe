"""A job's DAG as a picture: SVG drawn here, so the server needs no Graphviz.

`around` walks the record files from one job, as `GET /scheduler/jobs/<id>/dag` does:
up through `parent` and `depends-on`, down through `children` and `dependents` (at most
MAX_JOBS each way). `svg` puts each job in a row below every job it waits on or was
submitted by, and draws boxes coloured by state that link to the jobs' pages, solid
arrows for dependencies and dashed ones from a parent to its children.
"""

from dataclasses import dataclass, field
from html import escape

from ..errors import NotFound
from ..spool import Spool, ids
from . import views

MAX_JOBS = 40
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 180, 62, 24, 40, 12
COLOURS = {"good": "#d4f4dd", "error": "#f9d6d5", "running": "#d6e6fb", "suspended": "#e8dcf7",
           "starting": "#d6e6fb", "held": "#fff1c2", "gone": "#eeeeee"}


@dataclass
class Job:
    id: str
    name: str = ""
    state: str | None = None
    status: str | None = None
    parent: str | None = None
    depends_on: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)


def read(spool: Spool, job_id: str) -> Job:
    """What the record files say of one job (a job removed by gc has no state)."""
    jobs = spool.jobs
    if jobs.exists(job_id):
        lines = lambda name: [x for x in (jobs.get(job_id, name) or "").split("\n") if ids.valid(x)]
        try:
            name = jobs.request(job_id).get("name", "")
        except (NotFound, ValueError):
            name = ""
        parent = jobs.get(job_id, "parent")
        return Job(job_id, name, jobs.get(job_id, "state"), jobs.get(job_id, "status"),
                   parent if ids.valid(parent) else None, lines("depends-on"), lines("children"),
                   lines("dependents"))
    try:
        rec = views.incoming_record(spool, job_id)
    except NotFound:
        return Job(job_id)
    request = rec["request"]
    deps = request.get("depends_on")
    parent = request.get("parent")
    return Job(job_id, rec["name"], "incoming", "unknown", parent if ids.valid(parent) else None,
               [d for d in deps if ids.valid(d)] if isinstance(deps, list) else [])


def around(spool: Spool, job_id: str) -> tuple[dict[str, Job], bool]:
    """The job, everything upstream and everything downstream of it; True if cut at MAX_JOBS."""
    found = {job_id: read(spool, job_id)}
    cut = False
    for step in (lambda j: ([j.parent] if j.parent else []) + j.depends_on,
                 lambda j: j.children + j.dependents):
        level, added = [found[job_id]], 0
        while level:
            following = []
            for other in [o for job in level for o in step(job)]:
                if other in found:
                    continue
                if added == MAX_JOBS:
                    cut, following = True, []
                    break
                found[other] = read(spool, other)
                following.append(found[other])
                added += 1
            level = following
    return found, cut


def edges(jobs: dict[str, Job]) -> list[tuple[str, str, str]]:
    """(from, to, kind) between the jobs shown: `dependency` or `child`."""
    out = set()
    for job in jobs.values():
        for dep in job.depends_on:
            if dep in jobs:
                out.add((dep, job.id, "dependency"))
        if job.parent in jobs:
            out.add((job.parent, job.id, "child"))
        for other in job.children:
            if other in jobs:
                out.add((job.id, other, "child"))
        for other in job.dependents:
            if other in jobs:
                out.add((job.id, other, "dependency"))
    return sorted(out)


def rows(jobs: dict[str, Job], links: list[tuple[str, str, str]]) -> list[list[str]]:
    """Each job one row below the lowest job pointing at it (bounded, so a cycle cannot hang)."""
    row = {j: 0 for j in jobs}
    for _ in range(len(jobs)):
        changed = False
        for a, b, _kind in links:
            if row[b] < row[a] + 1 and row[a] + 1 < len(jobs):
                row[b] = row[a] + 1
                changed = True
        if not changed:
            break
    out: list[list[str]] = [[] for _ in range(max(row.values()) + 1)]
    for job_id in sorted(jobs):
        out[row[job_id]].append(job_id)
    return out


def colour(job: Job) -> str:
    if job.state is None:
        return COLOURS["gone"]
    if job.state == "stopped":
        return COLOURS.get(job.status or "", COLOURS["gone"])
    return COLOURS.get(job.state, "#ffffff")


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def svg(jobs: dict[str, Job], root: str, base: str = "") -> str:
    """The picture, as an inline <svg> element; every text in it is escaped."""
    links = edges(jobs)
    layers = rows(jobs, links)
    widest = max(len(layer) for layer in layers)
    width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X
    height = MARGIN * 2 + len(layers) * BOX_H + (len(layers) - 1) * GAP_Y
    where = {}
    for r, layer in enumerate(layers):
        left = (width - (len(layer) * BOX_W + (len(layer) - 1) * GAP_X)) / 2
        for i, job_id in enumerate(layer):
            where[job_id] = (left + i * (BOX_W + GAP_X), MARGIN + r * (BOX_H + GAP_Y))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="DAG of job {escape(root)}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for a, b, kind in links:
        (ax, ay), (bx, by) = where[a], where[b]
        dash = ' stroke-dasharray="5,4"' if kind == "child" else ""
        out.append(f'<line class="{kind}" x1="{ax + BOX_W / 2:.0f}" y1="{ay + BOX_H:.0f}" '
                   f'x2="{bx + BOX_W / 2:.0f}" y2="{by:.0f}" stroke="#555"{dash} marker-end="url(#arrow)"/>')
    for job_id, (x, y) in where.items():
        job = jobs[job_id]
        state = job.state or "gone"
        if job.state == "stopped" and job.status:
            state = f"stopped {job.status}"
        stroke = ' stroke-width="3"' if job_id == root else ""
        out.append(f'<a href="{escape(base)}/ui/jobs/{escape(job_id)}"><g class="job" data-id="{escape(job_id)}">'
                   f'<title>{escape(job_id)} {escape(job.name)}: {escape(state)}</title>'
                   f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6" '
                   f'fill="{colour(job)}" stroke="#333"{stroke}/>'
                   f'<text x="{x + 8:.0f}" y="{y + 19:.0f}" font-size="13" font-family="monospace">'
                   f'{escape(short(job_id, 21))}</text>'
                   f'<text x="{x + 8:.0f}" y="{y + 37:.0f}" font-size="12" font-family="sans-serif">'
                   f'{escape(short(job.name, 24))}</text>'
                   f'<text x="{x + 8:.0f}" y="{y + 54:.0f}" font-size="12" font-family="sans-serif" '
                   f'fill="#444">{escape(state)}</text></g></a>')
    out.append("</svg>")
    return "\n".join(out)
