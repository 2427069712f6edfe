"""Scheduler job records: `scheduler/jobs/<id>/`, one value per file.

A record appears whole: it is built in `tmp/` and renamed into `jobs/`, so a reader
sees either no job or a complete one. `transition` is the only writer of `state`.
"""

import json
import os
import shutil
from contextlib import contextmanager

from .. import timefmt
from ..errors import Conflict, NotFound
from ..jsontext import sorted_text
from ..states import ALLOWED, State
from . import events, ids
from .atomic import append_line, read_text, tmp_name, write_staged, write_text
from .paths import ATTACHMENTS, Layout

FIELDS = ("state", "status", "result", "exit-status", "node", "attempts", "created-at",
          "started-at", "finished-at", "parent", "progress", "owner")
MEMO_FIELDS = ("state", "node", "attempts", "created-at")
"""The fields a pass reads for every job on a node, several times over (and request.json,
which never changes)."""
MEMO_KEPT = 20_000
"""Values a daemon keeps from one pass to the next (a few thousand jobs' worth)."""


class Jobs:
    def __init__(self, layout: Layout):
        self.layout = layout
        self._memo: dict[tuple[str, str], str | dict | None] | None = None
        self._kept: dict[tuple[str, str], str | dict | None] = {}

    @contextmanager
    def memo(self, keep: bool = False):
        """Within one pass, read each job's `state`, `node`, `attempts` and `created-at`
        (and `request.json`) once. Only for a holder of the pass lock: every other writer
        of a record takes that lock too, and this object's own writes keep the memo true.
        With `keep` (nobody else held the lock since this object's last pass), what the
        last pass knew is still true and is used again, up to MEMO_KEPT values."""
        kept = self._kept if keep and len(self._kept) < MEMO_KEPT else {}
        self._memo = kept
        try:
            yield
        except BaseException:
            kept = {}  # a step that failed midway may have written what the memo does not say
            raise
        finally:
            self._memo = None
            self._kept = kept

    def _forget(self, job_id: str) -> None:
        memo = self._memo
        if memo is not None:
            for field in (*MEMO_FIELDS, "request.json", "starts", "attachments"):
                memo.pop((job_id, field), None)

    def create(self, job_id: str, request: dict, state: State, now: float,
               owner: str | None = None, children: list[str] = (), files: str | None = None) -> bool:
        """Make the whole record at once; False if the job already exists (a repeated intake).

        `owner` is the name of the token that submitted it (SPEC §6), kept beside the request.
        `children` are the jobs a graph or array made under this group, known before it exists.
        The archives in `files` are hard-linked in, so until intake removes the incoming
        copy a crash anywhere leaves them where the next try looks for them.
        """
        lay = self.layout
        final = lay.job_dir(job_id)
        if os.path.isdir(final):
            return False
        self._forget(job_id)
        text, created = sorted_text(request), timefmt.iso(now)
        stage = tmp_name(lay.tmp, final) + ".d"
        os.mkdir(stage)
        try:
            w = lambda name, value: write_staged(os.path.join(stage, name), value)
            w("request.json", text)
            w("state", state.value)
            w("status", "unknown")
            w("result", "")
            w("attempts", "0")
            w("created-at", created)
            if request.get("parent"):
                w("parent", request["parent"])
            if owner:
                w("owner", ids.check(owner, "owner"))
            if request.get("depends_on"):
                w("depends-on", "\n".join(request["depends_on"]))
            if children:
                w("children", "\n".join(children))
            append_line(os.path.join(stage, "events"), f"{created} submitted {state.value}")
            attached = {}
            for field, name in ATTACHMENTS.items():
                if files and os.path.isfile(os.path.join(files, name)):
                    os.link(os.path.join(files, name), os.path.join(stage, name))
                    attached[field] = os.stat(os.path.join(stage, name)).st_size
            os.rename(stage, final)
        except OSError:
            shutil.rmtree(stage, ignore_errors=True)
            if os.path.isdir(final):
                return False
            raise
        events.append_global(lay.events, f"{created} {job_id} submitted {state.value}")
        if self._memo is not None:  # the pass goes on with this job: no need to read it back
            self._memo.update({(job_id, "state"): state.value, (job_id, "node"): None,
                               (job_id, "attempts"): "0", (job_id, "created-at"): created,
                               (job_id, "request.json"): request, (job_id, "starts"): 0,
                               (job_id, "attachments"): attached})
        return True

    def add_dependent(self, job_id: str, dependent: str) -> None:
        """Note in `dependents` that `dependent` waits on `job_id`.

        One append, without reading the file first, so a job with 10,000 dependents costs
        10,000 appends, not a quadratic re-read; a repeated intake may write a line twice,
        and `lines` reads each id once.
        """
        append_line(self.layout.job_file(job_id, "dependents"), dependent)

    def add_child(self, job_id: str, child: str) -> None:
        """Note in `children` that `child` was submitted by `job_id` (its `parent`)."""
        append_line(self.layout.job_file(job_id, "children"), child)

    def lines(self, job_id: str, field: str) -> list[str]:
        """The ids listed in `depends-on`, `dependents` or `children`, each once, in file order."""
        text = self.get(job_id, field)
        return list(dict.fromkeys(x for x in text.split("\n") if x)) if text else []

    def count_events(self, job_id: str, event: str) -> int:
        """How many times `event` is in the job's log (the attempt number derives from it)."""
        return sum(1 for line in events.read(self.layout, job_id)
                   if line.split(" ", 2)[1:2] == [event])

    def starts(self, job_id: str) -> int:
        """How many times the job was sent to a node: the `starting` lines of its events, so
        a crash between `attempts` and the event cannot skip a number. Counted once while
        the memo lasts; the placer notes each new one (`started`)."""
        memo = self._memo
        key = (job_id, "starts")
        if memo is not None and key in memo:
            return memo[key]  # type: ignore[return-value]
        count = self.count_events(job_id, "starting")
        if memo is not None:
            memo[key] = count
        return count

    def started(self, job_id: str, count: int) -> None:
        """Note that the `starting` event number `count` is written (call it only once it
        is: a write that failed wrote no line, and the count kept before stays true)."""
        if self._memo is not None:
            self._memo[(job_id, "starts")] = count

    def attachments(self, job_id: str) -> dict[str, int]:
        """The job's archives: field name (`bundle`, `input`) → size in bytes (they never
        change: kept in the memo from the record's creation on)."""
        memo = self._memo
        if memo is not None and (job_id, "attachments") in memo:
            return dict(memo[(job_id, "attachments")])  # type: ignore[arg-type]
        out = {}
        for field, name in ATTACHMENTS.items():
            try:
                out[field] = os.stat(self.layout.job_file(job_id, name)).st_size
            except FileNotFoundError:
                continue
        if memo is not None:
            memo[(job_id, "attachments")] = out
        return out

    def remove(self, job_id: str) -> None:
        """Delete the record: renamed into tmp/ first, so a reader sees the whole job or none."""
        gone = tmp_name(self.layout.tmp, self.layout.job_dir(job_id)) + ".gc"
        self._forget(job_id)
        os.rename(self.layout.job_dir(job_id), gone)
        shutil.rmtree(gone, ignore_errors=True)

    def exists(self, job_id: str) -> bool:
        return os.path.isdir(self.layout.job_dir(job_id))

    def ids(self) -> list[str]:
        """Every job id, sorted (ids the system makes sort in submission order)."""
        return sorted(n for n in os.listdir(self.layout.jobs) if not n.startswith("."))

    def has(self, job_id: str, field: str) -> bool:
        return os.path.exists(self.layout.job_file(job_id, field))

    def get(self, job_id: str, field: str) -> str | None:
        memo = self._memo  # one reference: the notifier thread may read while a pass ends
        if memo is None or field not in MEMO_FIELDS:
            return read_text(self.layout.job_file(job_id, field))
        key = (job_id, field)
        if key not in memo:
            memo[key] = read_text(self.layout.job_file(job_id, field))
        return memo[key]

    def put(self, job_id: str, field: str, value: object) -> None:
        memo = self._memo
        if memo is not None:
            memo.pop((job_id, field), None)  # a failed write leaves nothing assumed
        write_text(self.layout.tmp, self.layout.job_file(job_id, field), str(value))
        if memo is not None and field in MEMO_FIELDS:
            memo[(job_id, field)] = str(value).rstrip("\n")

    def request(self, job_id: str) -> dict:
        """The normalised request; it never changes, so a pass reads and parses it once
        (and hands out the same dict each time: callers must not change it)."""
        memo = self._memo
        if memo is not None:
            request = memo.get((job_id, "request.json"))
            if request is not None:
                return request
        text = read_text(self.layout.job_file(job_id, "request.json"))
        if text is None:
            raise NotFound(f"no job {job_id}")
        request = json.loads(text)
        if memo is not None:
            memo[(job_id, "request.json")] = request
        return request

    def state(self, job_id: str) -> State:
        text = self.get(job_id, "state")
        if text is None:
            raise NotFound(f"no job {job_id}")
        return State(text)

    def record(self, job_id: str) -> dict:
        """Every fact about the job, as the API shows it."""
        if not self.exists(job_id):
            raise NotFound(f"no job {job_id}")
        rec: dict = {"id": job_id}
        for field in FIELDS:
            rec[field] = self.get(job_id, field)
        for key in ("attempts", "exit-status"):
            if rec[key] not in (None, ""):
                rec[key] = int(rec[key])
        rec["result"] = rec["result"] or None
        rec["depends-on"] = self.lines(job_id, "depends-on")
        req = self.request(job_id)
        rec["name"] = req.get("name", "")
        rec["request"] = req
        rec["events"] = events.read(self.layout, job_id)
        return rec

    def transition(self, job_id: str, new: State, event: str, detail: str = "",
                   now: float | None = None, force: bool = False) -> State:
        """Move the job to `new` if the table allows it (409 otherwise), and log the event.

        Crash order: the caller renames the index entry first, then this rewrites
        `state`, then appends to `events`; the pass's recovery step mends a crash between.
        """
        old = self.state(job_id)
        if old != new and new not in ALLOWED[old] and not force:
            raise Conflict(f"job {job_id} is {old.value}: cannot become {new.value}")
        if old != new:
            self.put(job_id, "state", new.value)
        events.record(self.layout, job_id, event, detail, now)
        return old
