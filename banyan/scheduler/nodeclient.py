"""HTTP client from the scheduler to a node's processor API (SPEC §5, processor routes).

One keep-alive connection per node and thread; proxies from the environment are never
used (a CGI environment may carry HTTP_PROXY, RELIABILITY §3.3). Requests carry the
`node` token from BANYAN_NODE_TOKEN unless one is given (SPEC §6); https nodes are
checked against BANYAN_CA_FILE (banyan/tls.py).
"""

import http.client
import json
import os
import threading
import urllib.parse

from .. import tls
from ..errors import Unavailable

TIMEOUT = 5.0


class NodeError(Unavailable):
    """The node did not answer, or answered with an error."""


class NodeClient:
    def __init__(self, uri: str, token: str | None = None, timeout: float = TIMEOUT):
        self.uri = uri.rstrip("/")
        parts = urllib.parse.urlsplit(self.uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NodeError(f"bad node uri {uri!r}")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.base = parts.path
        self.token = token if token is not None else os.environ.get("BANYAN_NODE_TOKEN")
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = tls.connection(self.scheme, self.host, self.port, self.timeout)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes, dict]:
        """Send one request; retried once on a dropped keep-alive connection."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, self.base + path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                return resp.status, payload, dict(resp.getheaders())
            except (OSError, http.client.HTTPException) as err:
                self.close()
                if attempt == 2 or isinstance(err, TimeoutError):
                    raise NodeError(f"node {self.uri} did not answer: {err}") from None
        raise AssertionError("unreachable")

    def stream(self, path: str, chunk: int = 1 << 16):
        """GET `path` on a connection of its own, for bodies too big to hold in memory.

        Returns (status, headers, chunks); `chunks` yields the body and closes the connection.
        """
        conn = tls.connection(self.scheme, self.host, self.port, self.timeout)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            conn.request("GET", self.base + path, headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise NodeError(f"node {self.uri} did not answer: {err}") from None

        def chunks():
            try:
                while data := resp.read(chunk):
                    yield data
            finally:
                conn.close()

        return resp.status, dict(resp.getheaders()), chunks()

    def json(self, method: str, path: str, body: dict | None = None) -> dict:
        status, payload, _ = self.request(method, path, body)
        try:
            data = json.loads(payload or b"{}")
        except ValueError:
            raise NodeError(f"node {self.uri} answered {status} with non-JSON") from None
        if status >= 400:
            raise NodeError(f"node {self.uri}: {data.get('error', status)}")
        return data

    def place(self, jobs: list[dict]) -> list[dict]:
        """Send many jobs in one request; each answer is a record or `{"id", "error"}`."""
        return self.json("POST", "/processor/jobs/new", {"jobs": jobs})["jobs"]

    def withdraw(self, job_id: str) -> bool:
        """Take back a job that waits on the node for cores; False if it has started."""
        status, _, _ = self.request("POST", f"/processor/job/{job_id}/withdraw")
        return status == 200

    def statuses(self, ids: list[str] | None) -> list[dict]:
        """The records of `ids` on this node, or of all its jobs with None."""
        if ids is None:
            return self.json("GET", "/processor/jobs/status")["jobs"]
        query = urllib.parse.urlencode({"ids": ",".join(ids)})
        return self.json("GET", f"/processor/jobs/status?{query}")["jobs"]

    def control(self, job_id: str, action: str) -> dict:
        return self.json("POST", f"/processor/job/{job_id}/{action}")

    def log(self, job_id: str, offset: int, tail: int | None = None) -> tuple[bytes, int]:
        """The log after `offset` (only its last `tail` bytes, if given), and the offset after it."""
        query = f"offset={offset}" + (f"&tail={tail}" if tail is not None else "")
        status, payload, headers = self.request("GET", f"/processor/job/{job_id}/log?{query}")
        if status == 404:
            return b"", offset
        if status >= 400:
            raise NodeError(f"node {self.uri} answered {status} for the log")
        end = headers.get("X-Banyan-Offset") or headers.get("x-banyan-offset")
        return payload, int(end) if end else offset + len(payload)

    def health(self) -> dict:
        return self.json("GET", "/processor/health")


class NodeClients:
    """One client per node uri, kept across passes so connections are reused."""

    def __init__(self, token: str | None = None):
        self.token = token
        self._clients: dict[str, NodeClient] = {}

    def get(self, uri: str) -> NodeClient:
        client = self._clients.get(uri)
        if client is None:
            client = self._clients[uri] = NodeClient(uri, self.token)
        return client
