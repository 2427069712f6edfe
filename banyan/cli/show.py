"""How the CLI prints what the API answers: tables, `key value` records, DAGs, sizes.

Pure functions from data to text, so each can be tested without a server. Every value
goes through `word`, which drops control characters: a job's name or an event detail
can never move the cursor or clear the terminal of whoever runs `banyan list`.
"""

import json

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")

DAG_KEYS = ("parents", "children", "dependencies", "dependents")
"""The lists `GET /scheduler/jobs/<id>/dag` answers, in the order they are printed."""

"""Fill colour of a DAG node by the job's status; unknown (not stopped yet) stays white."""


def word(value) -> str:
    """One printable cell: `-` for nothing, whitespace folded, control characters as `?`."""
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return "".join(c if c.isprintable() else "?" for c in text)


def to_json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def size(value) -> str:
    """Bytes as a short size in powers of 1024 (`1.5 GiB`), as the API reads them back."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return word(value)
    n = float(value)
    for unit in UNITS:
        if abs(n) < 1024 or unit == UNITS[-1]:
            return f"{int(n)} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def table(rows: list[dict], columns: list[tuple[str, str]], formats: dict | None = None) -> str:
    """Rows under upper-case headers, columns padded to line up (the last one is not)."""
    formats = formats or {}
    cells = [[title for _, title in columns]]
    for row in rows:
        cells.append([formats.get(key, word)(row.get(key)) for key, _ in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for line in cells:
        padded = [cell.ljust(width) for cell, width in zip(line[:-1], widths)] + [line[-1]]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def record(data: dict, keys: list[str] | None = None, formats: dict | None = None) -> str:
    """`key value` lines, the keys padded so the values line up (like `?format=text`)."""
    formats = formats or {}
    keys = [k for k in (keys or list(data)) if k in data]
    width = max((len(k) for k in keys), default=0)
    return "".join(f"{k.ljust(width)}  {formats.get(k, word)(data[k])}\n" for k in keys)


def job_line(rec: dict) -> str:
    """`<id> <state> [<result>]`: what kill, hold, release and friends print."""
    parts = [word(rec.get("id")), word(rec.get("state"))]
    if rec.get("result"):
        parts.append(word(rec["result"]))
    return " ".join(parts)


def change(previous: dict | None, now: dict) -> list[str]:
    """The progress lines `submit --wait` shows between two status reads of a job."""
    job_id = word(now.get("id"))
    lines = []
    before = previous or {}
    if now.get("state") != before.get("state") or now.get("attempts") != before.get("attempts"):
        if now.get("state") == "stopped":
            exit_status = now.get("exit-status")
            tail = f", exit status {exit_status}" if exit_status is not None else ""
            lines.append(f"{job_id} stopped: {word(now.get('status'))} "
                         f"({word(now.get('result'))}{tail})")
        elif now.get("state") in ("starting", "running") and now.get("node"):
            attempt = now.get("attempts")
            nth = f", attempt {attempt}" if isinstance(attempt, int) and attempt > 1 else ""
            lines.append(f"{job_id} {word(now.get('state'))} on {word(now.get('node'))}{nth}")
        else:
            lines.append(f"{job_id} {word(now.get('state'))}")
    if now.get("progress") and now.get("progress") != before.get("progress"):
        lines.append(f"{job_id} progress {word(now.get('progress'))}")
    return lines


def dag_text(dag: dict) -> str:
    """A job's relatives, one section per relation: `<id>  <state>  <status>` lines."""
    head = [word(dag.get("id"))] + [word(dag[k]) for k in ("state", "status") if k in dag]
    out = ["  ".join(head)]
    for key in DAG_KEYS:
        items = dag.get(key) or []
        out.append(f"{key}:" + ("" if items else " -"))
        rows = [[word(i.get("id")), word(i.get("state")), word(i.get("status"))] for i in items]
        widths = [max((len(r[c]) for r in rows), default=0) for c in range(3)]
        for r in rows:
            out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    return "\n".join(out) + "\n"


def stats_text(stats: dict) -> str:
    """`GET /scheduler/stats` for people: counts by state, rate, queue wait, then nodes."""
    by_state = stats.get("by_state") or {}
    counts = "  ".join(f"{word(k)} {word(v)}" for k, v in by_state.items()) or "-"
    wait = stats.get("queue_wait") or {}

    def secs(v):
        return "-" if v is None else f"{v:.2f}s" if isinstance(v, (int, float)) else word(v)

    out = [f"jobs       {counts}",
           f"rate       {word(stats.get('jobs_per_second'))} jobs/s stopped (last minute)",
           (f"queue wait p50 {secs(wait.get('p50'))}  p95 {secs(wait.get('p95'))}  "
            f"({word(wait.get('samples'))} samples)")]
    nodes = [dict(info, name=name) for name, info in (stats.get("by_node") or {}).items()]
    text = "\n".join(out) + "\n"
    if nodes:
        text += "\n" + table(nodes, [("name", "NODE"), ("state", "STATE"), ("cores", "CORES"),
                                     ("cores_free", "FREE"), ("memory_free", "MEMORY FREE"),
                                     ("running", "RUNNING")],
                             {"memory_free": size})
    return text
