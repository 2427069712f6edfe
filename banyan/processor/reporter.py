"""Supervisors tell the processor when an attempt starts and ends; it reports to the
scheduler in batches, and starts what waits for the cores an end frees (slots.py).

Supervisors write each record (one JSON line, under PIPE_BUF so it is written whole) to
a pipe the processor made before it forked the fork server; a thread of the processor
reads what has gathered and POSTs it as one report, the last record of each job only
(or, when the processor shares the scheduler's state folder, as under `banyan up`, drops
it into `scheduler/reports/` as the API would: one file instead of two HTTP ends).
A record waits until `GATHER` after the last report (the records of a burst of short
jobs then share one report, where each had been a file or a POST of its own), and while
one POST is on its way the next records gather in the pipe, so the batches grow with the
load, while a record on an idle node goes at once. An end frees its cores when it is
read, not when it is reported. A supervisor whose processor
is gone (the pipe has no reader) or whose pipe is full reports its end alone, as before
(report.py); a report lost with a processor that died is made good by the scheduler's
poll, and the cores of an end the processor never heard of by its `tick`.
"""

import json
import os
import select
import threading
import time
from typing import Callable

from .. import logline
from ..spool.reports import Reports
from . import report

PIPE_BUF = select.PIPE_BUF
MAX_BATCH = 500
"""Records per POST, so a report stays far below the API's body limit."""
TICK = 1.0
"""Seconds between two looks for ends the pipe did not bring."""
GATHER = 0.004
"""Seconds after a report during which the next records wait to share one (the pass that
reads them comes no sooner under load: the daemon gathers as long)."""


class Reporter:
    def __init__(self, node: str, scheduler_url: str | None, token: str | None,
                 drop: Reports | None = None):
        self.node = node
        self.scheduler_url = scheduler_url
        self.token = token
        self.drop = drop
        """The shared state folder's reports, when batches go there instead of to the API."""
        self._r, self.fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self.fd, False)  # a full pipe sends the supervisor's report directly

    def forked(self) -> None:
        """In the fork server: only supervisors write here, and only the processor reads."""
        os.close(self._r)

    def tell(self, record: dict) -> None:
        """A record the processor itself wrote (an attempt killed while it waited)."""
        hand(self.fd, record, self.node, self.scheduler_url, self.token)

    def start(self, ended: Callable[[str], None], tick: Callable[[], None]) -> None:
        """After the fork server is forked (it must not inherit a thread): call `ended`
        with the id of each attempt that stops, `tick` every TICK seconds."""
        threading.Thread(target=self._run, args=(ended, tick), name="reporter", daemon=True).start()

    def _run(self, ended, tick) -> None:
        buffered = b""
        pending: dict[str, dict] = {}
        """The last record of each attempt heard of since the last report, in order."""
        sent = 0.0
        next_tick = time.monotonic() + TICK
        while True:
            try:
                due = min(next_tick, sent + GATHER) if pending else next_tick
                ready, _, _ = select.select([self._r], [], [], max(0.0, due - time.monotonic()))
                if ready:
                    *lines, buffered = (buffered + os.read(self._r, 65536)).split(b"\n")
                    _gather(lines, pending, ended)
                now = time.monotonic()
                if pending and now >= sent + GATHER:
                    records, pending, sent = list(pending.values()), {}, now
                    self._forward(records)
                if now >= next_tick:  # under load too: the pipe is never quiet then
                    tick()
                    next_tick = time.monotonic() + TICK
            except Exception:  # noqa: BLE001 - this thread frees the cores: it must go on
                logline.trace()

    def _forward(self, records: list[dict]) -> None:
        if self.drop:
            try:
                self.drop.put(self.node, records)
            except OSError as err:  # a full disk: the scheduler's poll learns these ends
                logline.warn(f"banyan processor: cannot drop a report: {err}")
            return
        for i in range(0, len(records), MAX_BATCH):
            report.send(records[i:i + MAX_BATCH], self.node, self.scheduler_url, self.token)


def _gather(lines: list[bytes], pending: dict[str, dict], ended) -> None:
    """Keep the last record of each attempt; an end frees its cores at once (`ended`)."""
    for line in lines:
        record = json.loads(line)
        pending.pop(record["id"], None)  # keep the order of the last records
        pending[record["id"]] = record
        if record["state"] == "stopped":
            ended(record["id"])


def hand(fd: int, record: dict, node: str, scheduler_url: str | None, token: str | None,
         alone: bool = True) -> None:
    """A supervisor's record of its attempt: through the processor, or else (with `alone`)
    straight to the scheduler."""
    line = json.dumps(record).encode() + b"\n"
    if len(line) <= PIPE_BUF:
        try:
            os.write(fd, line)
            return
        except OSError:  # no reader (the processor restarted) or a full pipe
            pass
    if alone:
        report.send([record], node, scheduler_url, token)
