"""Deliver `notify` POSTs for stopped jobs, off the pass (SPEC §5).

A stopped job with a `notify` URL has an entry in `scheduler/notify/`. The daemon
runs a `Notifier` in a thread of its own, delivering through a small pool, so a slow
receiver never slows a pass; `scheduler --once` delivers what is due after its pass,
with the lock released. Each try is one `notify` line in the job's `events`; a
failed try is retried after NOTIFY_FIRST_RETRY seconds, then twice as long each time,
up to NOTIFY_TRIES tries. The URL is checked again at delivery (notifyurl), the POST
goes to the address that check resolved, and a redirect is an answer, never followed.
Delivery is at least once: a crash between the POST and its event line sends it again,
so receivers should use `id` to drop repeats.
"""

import http.client
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .. import defaults, notifyurl, timefmt
from ..errors import BadRequest
from ..spool import Spool, events
from ..states import State

POLL = 0.25
"""Seconds between looks at `scheduler/notify/` in the daemon."""

WORKERS = 8
"""Deliveries at once, so one receiver that hangs until its timeout delays no other."""

MAX_ANSWER = 4096
"""Bytes of a receiver's answer read (and ignored) before the connection is closed."""


class Notifier:
    def __init__(self, spool: Spool, allow: list | None = None, tries: int = defaults.NOTIFY_TRIES,
                 first_retry: float = defaults.NOTIFY_FIRST_RETRY,
                 timeout: float = defaults.NOTIFY_TIMEOUT):
        self.spool = spool
        self.allow = notifyurl.allowed_networks() if allow is None else allow
        self.tries = tries
        self.first_retry = first_retry
        self.timeout = timeout
        self._next: dict[str, float] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        """The daemon's loop: hand every due notification to the pool until `stop` is set."""
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="notify") as pool:
            while not stop.is_set():
                for job_id in self.due(time.time()):
                    with self._lock:
                        self._busy.add(job_id)
                    pool.submit(self._deliver_then_free, job_id)
                stop.wait(POLL)

    def run_due(self) -> int:
        """One round, in this thread (for `scheduler --once`); how many were tried."""
        due = self.due(time.time())
        for job_id in due:
            self.deliver(job_id)
        return len(due)

    def due(self, now: float) -> list[str]:
        """Entries whose next try has come, and that no worker is busy with."""
        out = []
        listed = self.spool.notices.ids()
        with self._lock:
            for job_id in listed:
                if job_id in self._busy:
                    continue
                if job_id not in self._next:
                    self._next[job_id] = self._next_from_events(job_id)
                if self._next[job_id] <= now:
                    out.append(job_id)
            for gone in set(self._next) - set(listed):
                del self._next[gone]
        return out

    def _next_from_events(self, job_id: str) -> float:
        """When the next try is due, from the tries already in `events` (after a restart)."""
        tries = [line for line in events.read(self.spool.layout, job_id)
                 if line.split(" ", 2)[1:2] == ["notify"]]
        if not tries:
            return 0.0
        last = timefmt.parse(tries[-1].split(" ", 1)[0]) or 0.0
        return last + self.wait_after(len(tries))

    def wait_after(self, tries: int) -> float:
        return self.first_retry * 2 ** (tries - 1)

    def _deliver_then_free(self, job_id: str) -> None:
        try:
            self.deliver(job_id)
        finally:
            with self._lock:
                self._busy.discard(job_id)

    def deliver(self, job_id: str) -> None:
        """One try for one job; its outcome goes to `events`, and ends the entry or schedules a retry."""
        jobs = self.spool.jobs
        if not jobs.exists(job_id):
            self.spool.notices.remove(job_id)
            return
        if jobs.get(job_id, "state") != State.STOPPED.value:
            return  # the entry is made just before the stop is committed
        n = 1 + sum(1 for line in events.read(self.spool.layout, job_id)
                    if line.split(" ", 2)[1:2] == ["notify"])
        url = jobs.request(job_id).get("notify")
        try:
            parts, addresses = notifyurl.resolve(url, self.allow)
        except BadRequest as err:
            events.record(self.spool.layout, job_id, "notify", f"refused: {err}")
            self.spool.notices.remove(job_id)
            return
        ok, answer = self.post(parts, addresses, payload(self.spool, job_id))
        if ok:
            events.record(self.spool.layout, job_id, "notify", f"try {n} of {self.tries}: delivered, {answer}")
        elif n >= self.tries:
            events.record(self.spool.layout, job_id, "notify", f"try {n} of {self.tries}: {answer}; giving up")
        else:
            wait = self.wait_after(n)
            with self._lock:
                self._next[job_id] = time.time() + wait
            events.record(self.spool.layout, job_id, "notify",
                          f"try {n} of {self.tries}: {answer}; next try in {wait:g} s")
            return
        self.spool.notices.remove(job_id)

    def post(self, parts, addresses: list[str], body: dict) -> tuple[bool, str]:
        """POST `body` to the first address that takes a connection; (delivered?, what happened)."""
        data = json.dumps(body).encode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        why = "no address"
        for address in addresses:
            conn = _connection(parts.scheme, parts.hostname, port, address, self.timeout)
            try:
                conn.request("POST", path, body=data, headers={
                    "Content-Type": "application/json", "User-Agent": "banyan-notify"})
                resp = conn.getresponse()
                resp.read(MAX_ANSWER)
            except (OSError, http.client.HTTPException) as err:
                why = f"{type(err).__name__}: {err}"
                continue
            finally:
                conn.close()
            if 200 <= resp.status < 300:
                return True, f"HTTP {resp.status}"
            if 300 <= resp.status < 400:
                return False, f"HTTP {resp.status} (redirects are not followed)"
            return False, f"HTTP {resp.status}"
        return False, why


def payload(spool: Spool, job_id: str) -> dict:
    """What the receiver gets: Banyan's fields, and MODAClouds' `job-uuid` and `retcode`."""
    jobs = spool.jobs
    exit_status = jobs.get(job_id, "exit-status")
    exit_status = int(exit_status) if exit_status and exit_status.lstrip("-").isdigit() else None
    return {"id": job_id, "name": jobs.request(job_id).get("name", ""), "state": jobs.get(job_id, "state"),
            "status": jobs.get(job_id, "status"), "result": jobs.get(job_id, "result") or None,
            "exit-status": exit_status, "node": jobs.get(job_id, "node"),
            "finished-at": jobs.get(job_id, "finished-at"), "job-uuid": job_id, "retcode": exit_status}


def _connection(scheme: str, host: str, port: int, address: str, timeout: float):
    """A connection to `address` that speaks to `host` (Host header, TLS name): no second lookup."""
    if scheme == "https":
        return _PinnedHTTPS(host, port, address, timeout)
    return _PinnedHTTP(host, port, address, timeout)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
