"""Slurm's job-array syntax: `1-100%10`, `1,3,5-7`, `0-15:4`: which indexes, and how many at once."""

import re

from .defaults import MAX_ARRAY
from .errors import BadRequest

PART = re.compile(r"^([0-9]{1,7})(?:-([0-9]{1,7})(?::([0-9]{1,7}))?)?$")


def parse(spec: object) -> tuple[list[int], int | None]:
    """The sorted indexes of `spec` and its `%N` limit (None: no limit); BadRequest says why not."""
    if not isinstance(spec, str):
        raise BadRequest("array must be a string like '1-100%10' or '1,3,5-7'")
    shown = repr(spec[:40])
    body, pct, limit_text = spec.strip().partition("%")
    limit = None
    if pct:
        if not re.fullmatch(r"[0-9]{1,7}", limit_text) or int(limit_text) < 1:
            raise BadRequest(f"array {shown}: the limit after % must be a whole number above 0")
        limit = int(limit_text)
    indexes: set[int] = set()
    for part in body.split(","):
        m = PART.match(part.strip())
        if not m:
            raise BadRequest(f"array {shown}: {part.strip()[:20]!r} is not N, N-M or N-M:STEP")
        low = int(m[1])
        high = int(m[2]) if m[2] else low
        step = int(m[3]) if m[3] else 1
        if high < low or step < 1:
            raise BadRequest(f"array {shown}: {part.strip()!r} is an empty range")
        if len(indexes) + (high - low) // step + 1 > MAX_ARRAY:
            raise BadRequest(f"array {shown} has more than {MAX_ARRAY} indexes")
        indexes.update(range(low, high + 1, step))
    return sorted(indexes), limit
