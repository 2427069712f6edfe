"""Job ids and node names: the one pattern of SPEC §2, and ids that sort by submission."""

import itertools
import re
import time

from ..errors import BadRequest
from . import atomic

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ID = re.compile(ID_RE.pattern[1:-1])  # for fullmatch: `$` would let a final newline through
_seq = itertools.count()
_valid: set[str] = set()
"""Ids found valid: every path to a job's file checks its id, dozens of times a job, and a
set lookup costs a quarter of the match."""
VALID_KEPT = 100_000


def valid(text: object) -> bool:
    """True if `text` may stand in a path position (id, node name, token name)."""
    if not isinstance(text, str):
        return False
    if text in _valid:
        return True
    if _ID.fullmatch(text) is None:
        return False
    if len(_valid) >= VALID_KEPT:
        _valid.clear()
    _valid.add(text)
    return True


def check(text: object, what: str = "id") -> str:
    """Return `text` if valid, else raise BadRequest naming what was wrong."""
    if not valid(text):
        shown = repr(text)[:80]
        raise BadRequest(f"invalid {what} {shown}: must match {ID_RE.pattern}")
    return text  # type: ignore[return-value]


def new_id() -> str:
    """A fresh id: microseconds in hex (so `ls` sorts by submission), then pid and a counter."""
    us = time.time_ns() // 1000
    tail = (atomic.pid() * 4099 + next(_seq)) & 0xFFFF
    return f"{us:013x}{tail:04x}"
