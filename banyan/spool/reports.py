"""`scheduler/reports/`: what nodes said about their jobs, waiting for the next pass.

The API only drops a report here (a file event wakes the daemon); the pass applies it
under the pass lock and removes it. So the API never writes a job record itself.
"""

import json
import os

from . import ids
from .atomic import read_bytes, write_text
from .paths import Layout


class Reports:
    def __init__(self, layout: Layout):
        self.layout = layout

    def put(self, node: str, jobs: list[dict]) -> None:
        name = f"{ids.new_id()}-{ids.check(node, 'node name')}.json"
        write_text(self.layout.tmp, os.path.join(self.layout.reports, name),
                   json.dumps({"node": node, "jobs": jobs}))

    def take(self) -> list[dict]:
        """Every waiting report, oldest first, removed as it is read (a crash re-reads nothing
        that was applied, and a report applied twice changes nothing)."""
        out = []
        for name in sorted(os.listdir(self.layout.reports)):
            if name.startswith(".") or not name.endswith(".json"):
                continue
            path = os.path.join(self.layout.reports, name)
            try:
                raw = read_bytes(path)
                data = None if raw is None else json.loads(raw)
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("jobs"), list):
                out.append(data)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        return out
