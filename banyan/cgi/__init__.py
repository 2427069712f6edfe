"""`bin/banyan.cgi`: the scheduler API under CGI (busybox httpd, nginx + fcgiwrap, Apache).

One process per request, so it imports only what a request needs: bottle, the spool and
the API routes; the scheduler, its lock and its HTTP client load only for the routes
that act on nodes (kill, update, log). It never runs a scheduler pass: it validates,
writes into `incoming/` and exits (RELIABILITY §3.3).

The environment is the client's to fill (every header becomes `HTTP_*`), so it drops
`HTTP_PROXY` (httpoxy) first. Settings come from the web server's environment or from
`banyan.conf` beside the script: `NAME=VALUE` lines for the names in SETTINGS.
"""

import json
import os
import sys

SETTINGS = ("BANYAN_STATE", "BANYAN_NODE_TOKEN", "BANYAN_CA_FILE")
CONFIG = "banyan.conf"


class ConfigError(Exception):
    """banyan.conf or the environment cannot give a usable state folder."""


def load_config(path: str, environ: dict) -> None:
    """Fill `environ` from `path` (if it exists) for the names the server did not set."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in SETTINGS:
            raise ConfigError(f"{path}:{number}: expected NAME=VALUE with NAME one of {', '.join(SETTINGS)}")
        environ.setdefault(name, value)


def fail(message: str) -> int:
    """A one-line JSON 500 in CGI form, for errors before the app exists."""
    body = json.dumps({"error": message}) + "\n"
    sys.stdout.write(f"Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body.encode())}\r\n\r\n{body}")
    sys.stdout.flush()
    print(f"banyan.cgi: {message}", file=sys.stderr)
    return 0


def main(script: str) -> int:
    """Serve one request read from the CGI environment and stdin; the answer goes to stdout."""
    os.environ.pop("HTTP_PROXY", None)
    try:
        load_config(os.path.join(os.path.dirname(os.path.abspath(script)), CONFIG), os.environ)
    except (ConfigError, OSError, UnicodeDecodeError) as err:
        return fail(f"bad configuration: {err}")
    state = os.environ.get("BANYAN_STATE")
    if not state:
        return fail(f"no state folder: set BANYAN_STATE, or write BANYAN_STATE=/path in {CONFIG} "
                    "beside the script")
    from wsgiref.handlers import CGIHandler

    from ..api.app import make_app
    from ..spool import Spool

    spool = Spool(state, create=False)
    if not spool.layout.exists():  # never cold-start over a missing or unmounted folder
        return fail(f"state folder {spool.root} does not exist; start `banyan up` or "
                    "`banyan scheduler` once to make it")
    app = make_app(spool)

    def fixed(environ, start_response):
        environ.setdefault("PATH_INFO", "")  # bottle's CGIServer does the same
        return app(environ, start_response)

    CGIHandler().run(fixed)
    drain(sys.stdin.buffer, os.environ.get("CONTENT_LENGTH"))
    return 0


def drain(stream, length: str | None, chunk: int = 1 << 16) -> None:
    """Read and drop what is left of the body (at most CONTENT_LENGTH bytes): a 413 answered
    before reading must not close the pipe under the server (fcgiwrap turns EPIPE into 502)."""
    try:
        left = int(length or 0)
    except ValueError:
        return
    while left > 0:
        data = stream.read(min(chunk, left))
        if not data:
            return
        left -= len(data)
