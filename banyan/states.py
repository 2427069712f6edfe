"""A job's state, status and result: the words on disk, and the moves between states.

`state` says where a job is in its life, `result` why it stopped; they are separate
(as pueue's TaskStatus and TaskResult are) so `cat state` never needs parsing.
"""

from enum import Enum


class State(str, Enum):
    INCOMING = "incoming"
    WAITING = "waiting"
    HELD = "held"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    SUSPENDED = "suspended"
    STOPPED = "stopped"


class Status(str, Enum):
    UNKNOWN = "unknown"
    GOOD = "good"
    ERROR = "error"


class Result(str, Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    KILLED = "killed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    LOST = "lost"


S = State
ALLOWED: dict[State, set[State]] = {
    S.INCOMING: {S.WAITING, S.HELD, S.QUEUED, S.STOPPED},
    S.WAITING: {S.QUEUED, S.HELD, S.STOPPED},
    S.HELD: {S.QUEUED, S.WAITING, S.STOPPED},
    S.QUEUED: {S.STARTING, S.HELD, S.WAITING, S.STOPPED},
    S.STARTING: {S.RUNNING, S.QUEUED, S.STOPPED},
    S.RUNNING: {S.SUSPENDED, S.QUEUED, S.STOPPED},
    S.SUSPENDED: {S.RUNNING, S.QUEUED, S.STOPPED},
    S.STOPPED: set(),
}
"""Which state may follow which. Running → queued is a retry of a failed or lost attempt."""

PENDING = {S.INCOMING, S.WAITING, S.HELD, S.QUEUED}
"""States in which a job holds no node: kill cancels it at once."""

ON_NODE = {S.STARTING, S.RUNNING, S.SUSPENDED}
"""States in which a job is (or may be) on a node: kill must go through the node."""


def status_of(result: Result) -> Status:
    """Only a success is good; every other way of stopping is an error (SPEC §3)."""
    return Status.GOOD if result == Result.SUCCESS else Status.ERROR


def dot() -> str:
    """The transition table as Graphviz dot, for the README's picture."""
    lines = ["digraph states {", "  rankdir=LR;"]
    for src, dsts in ALLOWED.items():
        for dst in sorted(dsts, key=lambda s: list(State).index(s)):
            lines.append(f"  {src.value} -> {dst.value};")
    lines.append("}")
    return "\n".join(lines) + "\n"
