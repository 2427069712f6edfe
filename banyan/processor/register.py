"""A processor registers itself with its scheduler and keeps doing so as a heartbeat.

The first registration is retried quickly (the scheduler may start after us, as under
`banyan up`); after that, one every HEARTBEAT seconds refreshes `last-seen` and what
the node says of itself. The scheduler's own poll stays the judge of `down`.
"""

import http.client
import json
import threading
import urllib.parse

from .. import defaults, tls

RETRY = 0.5


class Registration(threading.Thread):
    def __init__(self, scheduler_url: str, node: dict, token: str | None,
                 every: float = defaults.HEARTBEAT):
        super().__init__(name="banyan-heartbeat", daemon=True)
        self.parts = urllib.parse.urlsplit(scheduler_url.rstrip("/"))
        self.body = json.dumps(node).encode()
        self.token = token
        self.every = every
        self.registered = threading.Event()
        self._stop = threading.Event()

    def register(self) -> bool:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn = tls.connection(self.parts.scheme, self.parts.hostname, self.parts.port, timeout=5)
        try:
            conn.request("POST", f"{self.parts.path}/scheduler/nodes", self.body, headers)
            return conn.getresponse().status in (200, 201)
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def run(self) -> None:
        while not self._stop.is_set():
            if self.register():
                self.registered.set()
            self._stop.wait(self.every if self.registered.is_set() else RETRY)

    def stop(self) -> None:
        self._stop.set()
