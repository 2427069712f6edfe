"""A job's DAG as a picture: SVG drawn here, so the server needs no Graphviz.

The jobs are those of the walk `GET /scheduler/jobs/<id>/dag` answers (up through
parents and dependencies, down through children and dependents; at most MAX_JOBS each
way). `svg` puts each job in a row below every job it waits on or was submitted by, and
draws boxes coloured by state that link to the jobs' pages, solid arrows for
dependencies and dashed ones from a parent to its children.
"""

from html import escape

from ..spool import Spool
from . import dag

MAX_JOBS = 40
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 180, 62, 24, 40, 12
COLOURS = {"good": "#d4f4dd", "error": "#f9d6d5", "running": "#d6e6fb", "suspended": "#e8dcf7",
           "starting": "#d6e6fb", "held": "#fff1c2", "gone": "#eeeeee"}


def around(spool: Spool, job_id: str) -> tuple[dict[str, dict], bool]:
    """The job and its walk, by id (each `{"id", "state", "status", "name", "parent",
    "depends_on"}`); True if a direction was cut at MAX_JOBS."""
    walk = dag.walk(spool, job_id, limit=MAX_JOBS)
    jobs = {job_id: {k: walk[k] for k in ("id", "state", "status", "name", "parent", "depends_on")}}
    for relation in dag.RELATIONS:
        for job in walk[relation]:
            jobs.setdefault(job["id"], job)
    return jobs, walk["truncated"]


def edges(jobs: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(from, to, kind) between the jobs shown: `dependency` or `child`."""
    out = set()
    for job in jobs.values():
        for dep in job["depends_on"]:
            if dep in jobs:
                out.add((dep, job["id"], "dependency"))
        if job["parent"] in jobs:
            out.add((job["parent"], job["id"], "child"))
    return sorted(out)


def rows(jobs: dict[str, dict], links: list[tuple[str, str, str]]) -> list[list[str]]:
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


def colour(job: dict) -> str:
    if job["state"] is None:
        return COLOURS["gone"]
    if job["state"] == "stopped":
        return COLOURS.get(job["status"] or "", COLOURS["gone"])
    return COLOURS.get(job["state"], "#ffffff")


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def svg(jobs: dict[str, dict], root: str, base: str = "") -> str:
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
        state = job["state"] or "gone"
        if job["state"] == "stopped" and job["status"]:
            state = f"stopped {job['status']}"
        stroke = ' stroke-width="3"' if job_id == root else ""
        name = job["name"] or ""
        out.append(f'<a href="{escape(base)}/ui/jobs/{escape(job_id)}"><g class="job" data-id="{escape(job_id)}">'
                   f'<title>{escape(job_id)} {escape(name)}: {escape(state)}</title>'
                   f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6" '
                   f'fill="{colour(job)}" stroke="#333"{stroke}/>'
                   f'<text x="{x + 8:.0f}" y="{y + 19:.0f}" font-size="13" font-family="monospace">'
                   f'{escape(short(job_id, 21))}</text>'
                   f'<text x="{x + 8:.0f}" y="{y + 37:.0f}" font-size="12" font-family="sans-serif">'
                   f'{escape(short(name, 24))}</text>'
                   f'<text x="{x + 8:.0f}" y="{y + 54:.0f}" font-size="12" font-family="sans-serif" '
                   f'fill="#444">{escape(state)}</text></g></a>')
    out.append("</svg>")
    return "\n".join(out)
