"""Append-only event logs: one per job, and the global one of every transition."""

import os

from .. import timefmt
from .atomic import append_line, read_bytes
from .paths import Layout


def clean(text: str) -> str:
    """One line, no control characters, so a detail can never forge an extra event line."""
    text = str(text)
    if text.isprintable():  # nearly always: no character by character
        return text[:1000]
    return "".join(c if c.isprintable() else " " for c in text)[:1000]


def record(layout: Layout, job_id: str, event: str, detail: str = "", now: float | None = None) -> None:
    """Append `<time> <event> <detail>` to the job's events and `<time> <id> ...` to the global log."""
    when = timefmt.iso(now)
    detail = clean(detail)
    append_line(layout.job_file(job_id, "events"), f"{when} {event} {detail}".rstrip())
    append_line(layout.events, f"{when} {job_id} {event} {detail}".rstrip())


def read(layout: Layout, job_id: str) -> list[str]:
    data = read_bytes(layout.job_file(job_id, "events"))
    return [] if data is None else data.decode(errors="replace").splitlines()


def tail_global(layout: Layout, max_bytes: int = 4 << 20) -> list[str]:
    """The last lines of the global log (whole lines only), for rate and wait statistics."""
    try:
        with open(layout.events, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return []
    lines = data.decode(errors="replace").splitlines()
    return lines[1:] if size > max_bytes else lines
