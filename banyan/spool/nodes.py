"""Node records: `scheduler/nodes/<name>/{uri,cores,memory,gpus,labels,state,last-seen}`."""

import os
import shutil
import time

from .. import timefmt
from ..errors import NotFound
from .atomic import read_text, tmp_name, write_text
from .paths import Layout

SEEN_EVERY = 1.0
CACHE_SETTLE = 0.1

FIELDS = ("uri", "cores", "memory", "gpus", "labels", "state", "last-seen")
NUMBERS = ("cores", "memory", "gpus")


class Nodes:
    def __init__(self, layout: Layout):
        self.layout = layout
        self._seen: dict[str, float] = {}
        self._cache: dict[str, tuple[tuple[int, int], dict]] = {}

    def names(self) -> list[str]:
        return sorted(n for n in os.listdir(self.layout.nodes) if not n.startswith("."))

    def exists(self, name: str) -> bool:
        return os.path.isdir(self.layout.node_dir(name))

    def register(self, node: dict, now: float | None = None) -> None:
        """Create or update a node; a new node folder appears whole (built in tmp/).

        Registering again (a processor's heartbeat) updates what the node says of itself
        and leaves `state` alone: a `draining` node stays draining, and only the
        scheduler's own poll brings a `down` node back (it must reconcile its jobs first).
        """
        lay = self.layout
        final = lay.node_dir(node["name"])
        values = {
            "uri": node["uri"], "cores": node["cores"], "memory": node["memory"],
            "gpus": node["gpus"], "labels": ",".join(node.get("labels", [])),
            "state": node.get("state", "up"), "last-seen": timefmt.iso(now),
        }
        if os.path.isdir(final):
            del values["state"]
            for field, value in values.items():
                write_text(lay.tmp, os.path.join(final, field), str(value))
            return
        stage = tmp_name(lay.tmp, final) + ".d"
        os.mkdir(stage)
        for field, value in values.items():
            write_text(lay.tmp, os.path.join(stage, field), str(value))
        try:
            os.rename(stage, final)
        except OSError:
            shutil.rmtree(stage, ignore_errors=True)
            self.register(node, now)

    def get(self, name: str) -> dict:
        """The node's record. Read from its files, or from this process's copy when the
        node's folder has not changed since (every write renames a file into it, which
        moves the folder's mtime); a folder changed in the last CACHE_SETTLE seconds is
        read afresh, since file times are only as fine as the kernel's clock tick."""
        try:
            st = os.stat(self.layout.node_dir(name))
        except FileNotFoundError:
            raise NotFound(f"no node {name}") from None
        key = (st.st_ino, st.st_mtime_ns)
        cached = self._cache.get(name)
        if cached and cached[0] == key:
            return dict(cached[1], labels=list(cached[1]["labels"]))
        rec = self._read(name)
        if time.time() - st.st_mtime > CACHE_SETTLE:
            self._cache[name] = (key, rec)
        return dict(rec, labels=list(rec["labels"]))

    def _read(self, name: str) -> dict:
        rec: dict = {"name": name}
        for field in FIELDS:
            rec[field] = read_text(self.layout.node_file(name, field))
        for field in NUMBERS:
            rec[field] = int(rec[field] or 0)
        rec["labels"] = [x for x in (rec["labels"] or "").split(",") if x]
        return rec

    def all(self) -> list[dict]:
        out = []
        for name in self.names():
            try:
                out.append(self.get(name))
            except NotFound:
                continue
        return out

    def set(self, name: str, field: str, value: str) -> None:
        if not self.exists(name):
            raise NotFound(f"no node {name}")
        write_text(self.layout.tmp, self.layout.node_file(name, field), value)

    def seen(self, name: str, now: float | None = None) -> None:
        """Record that the node answered; at most once a second per node and process, since
        every report would otherwise rewrite the file (`node_timeout` counts in tens of s)."""
        now = time.time() if now is None else now
        if now - self._seen.get(name, 0.0) < SEEN_EVERY:
            return
        self.set(name, "last-seen", timefmt.iso(now))
        self._seen[name] = now

    def remove(self, name: str) -> None:
        """Unregister: rename the folder away first, so readers never see half a node."""
        final = self.layout.node_dir(name)
        if not os.path.isdir(final):
            raise NotFound(f"no node {name}")
        doomed = tmp_name(self.layout.tmp, final) + ".gone"
        os.rename(final, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
