"""HTTP from the CLI to the scheduler API, and the exit code for each way a call can fail.

Only the stdlib (`http.client`): proxies from the environment are never used, since the
API is usually on loopback or the local network and an `http_proxy` set for the web
would send our requests (and tokens) elsewhere. `Authorization: Bearer <token>` goes
with every request when a token is set.

Exit codes (README, "The command line"), kept apart as nq keeps its 111 and 222:
"""

import http.client
import json
import os
import socket
import time
import urllib.parse

OK = 0
"""The command did what was asked."""

JOB_ERROR = 1
"""`submit --wait`: the job stopped with status `error`."""

USAGE = 2
"""Bad usage: an unknown option, a malformed argument, an unreadable request file."""

REFUSED = 3
"""The server refused the request (4xx): no such job, a state that does not allow it, ..."""

UNREACHABLE = 4
"""The server could not be reached, or failed (5xx)."""

TIMEOUT = 60.0
"""Seconds to wait for an answer. A kill of a running job may take up to its kill_grace."""

RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
             http.client.BadStatusLine)
"""Errors that, on a reused keep-alive connection, mean the server closed it meanwhile."""


class CliError(Exception):
    """A failure shown as one line, `banyan: <message>`, then exit `code`."""

    code = UNREACHABLE

    def __init__(self, message: str, code: int | None = None):
        super().__init__(" ".join(str(message).split()))
        if code is not None:
            self.code = code


class Usage(CliError):
    """Raised for a bad argument found before any request is sent."""

    code = USAGE


class Refused(CliError):
    """Raised when the server answers 4xx; `status` is the HTTP status."""

    code = REFUSED

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Unreachable(CliError):
    """Raised when the server does not answer, or answers 5xx."""

    code = UNREACHABLE


def error_message(status: int, reason: str, body: bytes) -> str:
    """The one line to show for an error answer: its `{"error": ...}`, else its first line."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"]:
            return data["error"]
    except ValueError:
        pass
    text = body.decode("utf-8", "replace").strip()
    first = text.splitlines()[0][:200] if text and not text.startswith("<") else ""
    return f"HTTP {status} {reason}" + (f": {first}" if first else "")


def quote(segment: str) -> str:
    """One path segment, escaped so that `/` or `?` in it can never change the route."""
    return urllib.parse.quote(segment, safe="")


class Client:
    """The scheduler API at `url` (which may carry a path, e.g. a CGI script's)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = TIMEOUT):
        parts = urllib.parse.urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Usage(f"--url must be an http:// or https:// URL, not {url!r}")
        try:
            self.port = parts.port
        except ValueError:
            raise Usage(f"--url has a bad port: {url!r}") from None
        self.url = url.rstrip("/")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.base = parts.path.rstrip("/")
        self.token = token or None
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._used = False

    # -- plumbing ---------------------------------------------------------------

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=timeout)
            self._used = False
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _target(self, path: str, query: dict | None) -> str:
        query = {k: v for k, v in (query or {}).items() if v is not None}
        return self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")

    def send(self, method: str, path: str, query: dict | None = None, body: dict | None = None,
             stream: bool = False, form: "Multipart | None" = None) -> http.client.HTTPResponse:
        """Send one request and return the response, its body unread; raise on 4xx and 5xx.

        A `stream` response has no read timeout (a followed log may be quiet for long)
        and its connection is not reused. A `form` is sent as multipart/form-data.
        """
        target = self._target(path, query)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if form is not None:
            headers["Content-Type"] = form.content_type
            headers["Content-Length"] = str(form.length())
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (1, 2):
            if stream:
                self.close()
            conn = self._connection(self.timeout)
            reused = self._used
            try:
                conn.request(method, target, body=form.chunks() if form else data, headers=headers)
                resp = conn.getresponse()
            except RETRYABLE as err:
                self.close()
                if reused and attempt == 1:  # a stale keep-alive connection: try a fresh one
                    continue
                raise Unreachable(f"{self.url} closed the connection: {err or type(err).__name__}") from None
            except (OSError, http.client.HTTPException) as err:
                self.close()
                raise Unreachable(self._describe(err)) from None
            self._used = True
            break
        if resp.status >= 400:
            try:
                payload = resp.read(1 << 16)
            except (OSError, http.client.HTTPException):
                payload = b""
            self.close()
            message = error_message(resp.status, resp.reason, payload)
            if resp.status >= 500:
                raise Unreachable(f"server error {resp.status}: {message}")
            raise Refused(message, resp.status)
        if stream:
            self._conn = None  # the caller owns it now; closing the response closes it
            if conn.sock is not None:
                conn.sock.settimeout(None)
        return resp

    def _describe(self, err: Exception) -> str:
        if isinstance(err, (socket.timeout, TimeoutError)):
            return f"{self.url} did not answer within {self.timeout:g}s"
        if isinstance(err, socket.gaierror):
            return f"cannot resolve {self.host}: {err.strerror or err}"
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return f"cannot reach {self.url}: {reason}"

    def _read(self, resp: http.client.HTTPResponse) -> bytes:
        try:
            return resp.read()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            raise Unreachable(f"{self.url} broke off its answer: {err}") from None

    # -- what the commands use ---------------------------------------------------

    def json(self, method: str, path: str, query: dict | None = None,
             body: dict | None = None, form: "Multipart | None" = None) -> dict:
        """A JSON answer, as a dict."""
        resp = self.send(method, path, query, body, form=form)
        payload = self._read(resp)
        try:
            data = json.loads(payload)
        except ValueError:
            raise Unreachable(f"{self.url}{path} answered {resp.status} with something not JSON") from None
        if not isinstance(data, dict):
            raise Unreachable(f"{self.url}{path} answered JSON that is not an object")
        return data

    def get_bytes(self, path: str, query: dict | None = None) -> tuple[bytes, dict]:
        """A whole body and its headers (lower-case names)."""
        resp = self.send("GET", path, query)
        payload = self._read(resp)
        return payload, {k.lower(): v for k, v in resp.getheaders()}

    def chunks(self, path: str, query: dict | None = None, size: int = 1 << 16,
               cut_ok: bool = False):
        """Yield a body as it arrives. A connection cut mid-way raises Unreachable, or with
        `cut_ok` just ends the stream (a followed log is taken up again at its offset)."""
        resp = self.send("GET", path, query, stream=True)
        try:
            while True:
                try:
                    data = resp.read1(size)
                except (OSError, http.client.HTTPException) as err:
                    if cut_ok:
                        return
                    raise Unreachable(f"{self.url} broke off its answer: {err}") from None
                if not data:
                    return
                yield data
        finally:
            resp.close()


class Backoff:
    """Sleeps for polling: quick at first, for jobs that stop at once, then at most `cap`."""

    def __init__(self, first: float = 0.05, factor: float = 1.5, cap: float = 1.0):
        self.delay, self.factor, self.cap = first, factor, cap

    def sleep(self) -> None:
        time.sleep(self.delay)
        self.delay = min(self.cap, self.delay * self.factor)


def id_arg(what: str = "job id"):
    """An argparse `type` that refuses, as bad usage, what could not be an id or node name."""
    import argparse

    def check(text: str) -> str:
        # The one pattern of SPEC §2, imported only when needed: it loads the whole spool.
        from ..spool.ids import valid

        if not valid(text):
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}")
        return text

    check.__name__ = what.replace(" ", "_")
    return check


class Multipart:
    """A multipart/form-data body of text fields and files, streamed from disk (a bundle
    may be 256 MiB): its length is known up front, and each send reads the files anew."""

    def __init__(self, fields: dict[str, str], files: dict[str, str]):
        self.boundary = "banyan-" + os.urandom(12).hex()
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.fields = fields
        self.files = files

    def _head(self, name: str, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{name}.tar.gz"'  # never the user's name: no quoting trap
            return (f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
                    "Content-Type: application/gzip\r\n\r\n").encode()
        return f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()

    def _tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def length(self) -> int:
        total = len(self._tail())
        for name, value in self.fields.items():
            total += len(self._head(name)) + len(value.encode()) + 2
        for name, path in self.files.items():
            total += len(self._head(name, path)) + os.path.getsize(path) + 2
        return total

    def chunks(self):
        for name, value in self.fields.items():
            yield self._head(name) + value.encode() + b"\r\n"
        for name, path in self.files.items():
            yield self._head(name, path)
            with open(path, "rb") as f:
                while chunk := f.read(1 << 16):
                    yield chunk
            yield b"\r\n"
        yield self._tail()
