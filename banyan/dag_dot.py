"""A DAG walk (`GET /scheduler/jobs/<id>/dag`) as Graphviz dot, states as colours.

Pure: it takes the walk's JSON and returns text, so `banyan dag ID --dot | dot -Tsvg`
draws it. Solid edges run from a dependency to its dependent, dashed ones from a parent
to the child it submitted; the job asked about has a double border.
"""

COLOURS = {
    "incoming": "white", "waiting": "lightgrey", "held": "orange", "queued": "lightblue",
    "starting": "lightyellow", "running": "gold", "suspended": "plum",
}
"""Fill colour by state; a stopped job is green if good, red if error."""

STOPPED = {"good": "palegreen", "error": "lightcoral"}


def colour(job: dict) -> str:
    if job.get("state") == "stopped":
        return STOPPED.get(job.get("status"), "white")
    return COLOURS.get(job.get("state"), "white")


def _quote(*lines: object) -> str:
    """A dot string of one or more lines: names are user text, so quotes, backslashes and
    control characters are escaped before the lines are joined with dot's own `\\n`."""
    out = []
    for line in lines:
        text = "".join(c if c.isprintable() else " " for c in str(line))
        out.append(text.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + "\\n".join(out) + '"'


def to_dot(walk: dict) -> str:
    """The walk as one `digraph`; edges only between jobs the walk holds."""
    jobs = {walk["id"]: walk}
    for relation in ("parents", "children", "dependencies", "dependents"):
        for job in walk.get(relation, []):
            jobs.setdefault(job["id"], job)
    lines = ["digraph banyan {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled"];']
    for job_id, job in jobs.items():
        state = job.get("state") or "unknown"
        if state == "stopped":
            state += f" {job.get('status')}"
        extra = ", peripheries=2" if job_id == walk["id"] else ""
        label = _quote(job_id, job.get("name") or "", state)
        lines.append(f"  {_quote(job_id)} [label={label}, fillcolor={_quote(colour(job))}{extra}];")
    for job_id, job in jobs.items():
        for dep in job.get("depends_on") or []:
            if dep in jobs:
                lines.append(f"  {_quote(dep)} -> {_quote(job_id)};")
        if job.get("parent") in jobs:
            lines.append(f"  {_quote(job['parent'])} -> {_quote(job_id)} [style=dashed, arrowhead=empty];")
    lines.append("}")
    return "\n".join(lines) + "\n"
