"""Request bodies that carry files (multipart, or a urlencoded form), streamed to disk.

bottle reads a whole multipart body into a temp file in /tmp with no size limit, then
copies every part once more (RELIABILITY §0.9). Here the length is checked before a
byte is read, the body is read in 64 KiB pieces counted against the limit, and a file
field goes straight into a file in a staging folder under `state/tmp/`, which the
caller renames into place or removes. A file's name on disk is the field's name, and
only names the caller lists are files, so no path is ever built from user text.
"""

import email.message
import os
import urllib.parse
from dataclasses import dataclass, field

from .. import defaults, web
from ..errors import BadRequest, TooLarge
from ..spool.atomic import FULL, no_space

CHUNK = 1 << 16
MAX_HEADERS = 16 << 10
MAX_NAME = 256


@dataclass
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """Field name → path of its content in the staging folder."""


def read(environ: dict, stage: str, file_fields: set[str], limit: int) -> Form:
    """Parse the body of a multipart or urlencoded request into `stage` (a new, empty folder)."""
    ctype = environ.get("CONTENT_TYPE", "")
    body = _Body(environ, limit)
    try:
        if ctype.split(";")[0].strip().lower() == "multipart/form-data":
            return _multipart(_Stream(body), _boundary(ctype), stage, file_fields)
        return _urlencoded(_Stream(body), stage, file_fields)
    except OSError as err:
        if err.errno in FULL:
            raise no_space(err, stage) from err
        raise


def is_multipart(ctype: str | None) -> bool:
    return (ctype or "").split(";")[0].strip().lower().startswith("multipart/")


class _Body:
    """wsgi.input read at most `limit` bytes in all: 413 before reading if the length says more."""

    def __init__(self, environ: dict, limit: int):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if length > limit:
            web.refuse_length(environ, length, limit)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        self.remaining = length if length or not chunked else limit + 1
        self.limit = limit
        self.read_so_far = 0
        self.input = environ["wsgi.input"]

    def read(self) -> bytes:
        if self.remaining <= 0:
            return b""
        data = self.input.read(min(CHUNK, self.remaining))
        self.remaining -= len(data) if data else self.remaining
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise TooLarge(f"body is over the limit of {self.limit} bytes")
        return data


class _Stream:
    """A byte buffer over the body with `read_until(marker)`, never holding more than a chunk."""

    def __init__(self, body: _Body):
        self.body = body
        self.buf = b""
        self.eof = False

    def fill(self) -> bool:
        data = self.body.read()
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def need(self, n: int) -> bool:
        while len(self.buf) < n and not self.eof:
            self.fill()
        return len(self.buf) >= n

    def read_until(self, marker: bytes, sink, eof_ok: bool = False) -> bool:
        """Pass everything before `marker` to `sink` and consume the marker; False at the end."""
        keep = len(marker) - 1
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                sink(self.buf[:i])
                self.buf = self.buf[i + len(marker):]
                return True
            if len(self.buf) > keep:
                sink(self.buf[:len(self.buf) - keep])
                self.buf = self.buf[len(self.buf) - keep:]
            if not self.fill():
                if not eof_ok:
                    raise BadRequest("the body ends in the middle of a field")
                sink(self.buf)
                self.buf = b""
                return False


class _Capped:
    """Collects a text field, refusing it past `cap` bytes."""

    def __init__(self, cap: int, what: str):
        self.data = bytearray()
        self.cap = cap
        self.what = what

    def __call__(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.cap:
            raise BadRequest(f"{self.what} is longer than {self.cap} bytes")


def _boundary(ctype: str) -> bytes:
    msg = email.message.Message()
    msg["content-type"] = ctype
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 70:
        raise BadRequest("multipart body without a valid boundary")
    return boundary.encode("latin-1")


def _open_file(stage: str, name: str, form: Form):
    if name in form.files:
        raise BadRequest(f"field {name!r} is given twice")
    path = os.path.join(stage, name)
    form.files[name] = path
    return open(path, "xb")


def _text(form: Form, name: str, raw: bytes, total: list[int]) -> None:
    total[0] += len(raw)
    if total[0] > defaults.MAX_BODY:
        raise TooLarge(f"the form's text fields are over {defaults.MAX_BODY} bytes")
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"field {name!r} is not UTF-8") from None
    form.fields.setdefault(name, []).append(value)


def _multipart(s: _Stream, boundary: bytes, stage: str, file_fields: set[str]) -> Form:
    form, total = Form(), [0]
    s.read_until(b"--" + boundary, lambda _: None)
    while True:
        if not s.need(2):
            raise BadRequest("multipart body ends early")
        if s.buf.startswith(b"--"):
            return form  # the closing delimiter; an epilogue is ignored
        if not s.buf.startswith(b"\r\n"):
            raise BadRequest("malformed multipart delimiter")
        s.buf = s.buf[2:]
        head = _Capped(MAX_HEADERS, "a part's headers")
        s.read_until(b"\r\n\r\n", head)
        name = _part_name(bytes(head.data))
        end = b"\r\n--" + boundary
        if name in file_fields:
            with _open_file(stage, name, form) as f:
                s.read_until(end, f.write)
        else:
            value = _Capped(defaults.MAX_BODY, f"field {name[:40]!r}")
            s.read_until(end, value)
            _text(form, name, bytes(value.data), total)


def _part_name(head: bytes) -> str:
    msg = email.message.Message()
    for line in head.decode("utf-8", errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            msg[key.strip()] = value.strip()
    if msg.get_content_disposition() != "form-data":
        raise BadRequest("a multipart part without Content-Disposition: form-data")
    name = msg.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise BadRequest("a multipart part without a name")
    return name


def _urlencoded(s: _Stream, stage: str, file_fields: set[str]) -> Form:
    """`a=1&b=2`, each value percent-decoded as it streams (curl --data-urlencode 'f@file')."""
    form, total = Form(), [0]
    while s.need(1):
        name_end = _find_name_end(s)
        raw_name, sep = s.buf[:name_end], s.buf[name_end:name_end + 1]
        s.buf = s.buf[name_end + 1:]
        try:
            name = urllib.parse.unquote_plus(raw_name.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("a form field name is not ASCII") from None
        if sep != b"=":  # `name&` or `name` at the end: an empty value
            _text(form, name, b"", total)
            continue
        if name in file_fields:
            with _open_file(stage, name, form) as f:
                unquote = _Unquoter(f.write)
                s.read_until(b"&", unquote, eof_ok=True)
                unquote.close()
        else:
            value = _Capped(defaults.MAX_BODY * 3, f"field {name[:40]!r}")
            s.read_until(b"&", value, eof_ok=True)
            _text(form, name, urllib.parse.unquote_to_bytes(bytes(value.data).replace(b"+", b" ")), total)
    return form


def _find_name_end(s: _Stream) -> int:
    while True:
        cuts = [i for i in (s.buf.find(b"="), s.buf.find(b"&")) if i >= 0]
        if cuts:
            return min(cuts)
        if len(s.buf) > MAX_NAME:
            raise BadRequest("a form field name is too long")
        if not s.fill():
            return len(s.buf)


class _Unquoter:
    """Percent-decode a stream: a `%` near the end of a piece waits for the next one."""

    def __init__(self, sink):
        self.sink = sink
        self.rest = b""

    def __call__(self, data: bytes) -> None:
        data = self.rest + data
        cut = data.find(b"%", max(0, len(data) - 2))
        cut = len(data) if cut < 0 else cut
        self.rest = data[cut:]
        self.sink(urllib.parse.unquote_to_bytes(data[:cut].replace(b"+", b" ")))

    def close(self) -> None:
        self.sink(urllib.parse.unquote_to_bytes(self.rest.replace(b"+", b" ")))
