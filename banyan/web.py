"""What both HTTP apps (scheduler API, processor) share: JSON errors, body limits, text output.

bottle's defaults are wrong for us (RELIABILITY §0.9): its error page is HTML and its
body limit is 100 KiB. Every app made here answers `{"error": "..."}` for every
error, 404 and 405 included, and reads bodies up to the limit the caller gives.
"""

import json
import threading
import time

import bottle

from . import defaults
from .errors import BadRequest, BanyanError, TooLarge

bottle.BaseRequest.MEMFILE_MAX = defaults.MAX_BODY


def new_app() -> bottle.Bottle:
    """A Bottle app whose every error is one line of JSON, and whose domain errors map to codes."""
    app = bottle.Bottle(autojson=True)
    object.__setattr__(app, "router", _Router())  # a plain assignment trips bottle's plugin guard
    app.install(_domain_errors)

    def error_page(err: bottle.HTTPError) -> str:
        bottle.response.content_type = "application/json"
        message = err.body if isinstance(err.body, str) and err.body else err.status_line
        if err.status_code >= 500 and err.exception is not None:
            message = "internal error"
        return json.dumps({"error": " ".join(str(message).split())}) + "\n"

    app.default_error_handler = error_page
    return app


class _Router(bottle.Router):
    """bottle's router, compiling each method's combined pattern once, at the first match.

    bottle compiles it again at every route added, so making the API's app cost 16 ms,
    most of a CGI request's own work (one process per request builds the app anew).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stale: set[str] = set()
        self._compiling = threading.Lock()

    def _compile(self, method):
        self._stale.add(method)

    def match(self, environ):
        if self._stale:
            with self._compiling:
                for method in self._stale:
                    bottle.Router._compile(self, method)
                self._stale.clear()
        return super().match(environ)


def guard_ids(app: bottle.Bottle, *prefixes: str) -> None:
    """Answer 400, before routing, for a path whose id segment is invalid or that holds `..`.

    bottle decodes `%2f` and `%2e` before routing, so `jobs/..%2fx` arrives as `jobs/../x`:
    without this it would be a 404 that hides an attack; with it, no such path gets further.
    """
    from .spool import ids

    @app.hook("before_request")
    def check():
        path = bottle.request.path
        for prefix in prefixes:
            if path.startswith(prefix):
                rest = path[len(prefix):]
                if rest and (".." in rest.split("/") or not ids.valid(rest.split("/", 1)[0])):
                    raise bottle.HTTPError(400, f"invalid id in the path: {rest.split('/', 1)[0]!r}")


def _domain_errors(callback):
    def wrapper(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except BanyanError as err:
            return error(err.status, str(err))
    return wrapper


def error(status: int, message: str) -> bottle.HTTPResponse:
    body = json.dumps({"error": " ".join(message.split())}) + "\n"
    return bottle.HTTPResponse(body, status=status, content_type="application/json")


def body(limit: int = defaults.MAX_BODY) -> bytes:
    """The request body, refused with 413 before reading when its length is over `limit`."""
    req = bottle.request
    try:
        length = int(req.environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    if length > limit:
        refuse_length(req.environ, length, limit)
    if length == 0 and "chunked" in req.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        data = req.environ["wsgi.input"].read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"body is over the limit of {limit} bytes")
        return data
    return req.environ["wsgi.input"].read(length) if length else b""


DRAIN_MAX = 1 << 30
DRAIN_SECONDS = 30.0


def refuse_length(environ: dict, length: int, limit: int):
    """Raise 413 for a declared body over `limit`, after reading and dropping it.

    A server that answers and closes while the client still sends makes the kernel reset
    the connection, and the client sees a reset instead of the 413 (curl even reports
    the `100 Continue`). So a body up to DRAIN_MAX is read away first, for at most
    DRAIN_SECONDS; past that the server closes the connection.
    """
    if length <= DRAIN_MAX:
        stream, left, deadline = environ["wsgi.input"], length, time.monotonic() + DRAIN_SECONDS
        while left > 0 and time.monotonic() < deadline:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
    raise TooLarge(f"body of {length} bytes is over the limit of {limit}")


def json_body(limit: int = defaults.MAX_BODY) -> dict:
    from .request import parse_json
    return parse_json(body(limit))


def whole(name: str, default: int | None, low: int, high: int, query=None) -> int | None:
    """The query parameter `name` (of `query`, or of this request) as a whole number from
    `low` to `high`, else 400.

    Only ASCII digits: int() would also take ` 5`, `1_0` and other scripts' digits,
    which the OpenAPI document (and so a client) calls invalid.
    """
    text = (bottle.request.query if query is None else query).get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 19) or not low <= int(text) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def wants_text() -> bool:
    return bottle.request.query.get("format") == "text"


def text_lines(items: list[dict], keys: list[str]) -> str:
    """`?format=text` for a listing: one line per item, starting with its id (or name)."""
    bottle.response.content_type = "text/plain; charset=utf-8"
    out = []
    for item in items:
        out.append(" ".join(_word(item.get(k)) for k in keys))
    return "\n".join(out) + ("\n" if out else "")


def text_record(record: dict) -> str:
    """`?format=text` for one record: `key value` lines."""
    bottle.response.content_type = "text/plain; charset=utf-8"
    lines = []
    for key, value in record.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, sort_keys=True)
        lines.append(f"{key} {_word(value, spaces=True)}")
    return "\n".join(lines) + "\n"


def _word(value, spaces: bool = False) -> str:
    if value is None or value == "":
        return "-"
    text = " ".join(str(value).split()) if spaces else "_".join(str(value).split())
    return "".join(c if c.isprintable() else "?" for c in text)
