"""The one time format of the state folder: UTC ISO-8601 with milliseconds."""

import time
from datetime import UTC, datetime


def iso(t: float | None = None) -> str:
    """Format epoch seconds (default: now) as `2026-11-22T23:40:26.123Z`."""
    if t is None:
        t = time.time()
    ms = int(round(t * 1000))
    s, ms = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % ms


def parse(text: str | None) -> float | None:
    """Epoch seconds of a time written by `iso`, or None."""
    if not text:
        return None
    try:
        dt = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC).timestamp()
