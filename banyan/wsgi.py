"""The production WSGI server behind `banyan serve`, `banyan up` and `banyan processor`.

cheroot (CherryPy's server): threaded, so a streaming log never blocks other requests;
TLS built in; and the fastest of the candidates measured here on the real API
(`bench/wsgi_servers.py`, figures in the README). Its workers keep a busy keep-alive
connection for a moment (keepalive.py).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bottle loads only with the app: the CLI's commands start without it
    import bottle


def serve(app: "bottle.Bottle", host: str, port: int, threads: int = 8,
          certfile: str | None = None, keyfile: str | None = None, ready=None) -> None:
    """Serve `app` until interrupted; over TLS when given a certificate. `ready()` is
    called once the socket listens (a processor registers only then, or the scheduler
    could send it a job it cannot yet receive)."""
    from .keepalive import Server

    server = Server((host, port), app, numthreads=threads, server_name="banyan", timeout=120)
    if certfile:
        server.ssl_adapter = _tls_adapter(certfile, keyfile or certfile)
    try:
        server.prepare()
        if ready:
            ready()
        server.serve()
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C stops it cleanly, as cheroot's safe_start does
        server.stop()
        raise


def _tls_adapter(certfile: str, keyfile: str):
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    from .tls import server_context

    try:  # fail here, with the reason, not at each request
        context = server_context(certfile, keyfile)
    except OSError as err:  # ssl.SSLError is an OSError
        raise SystemExit(f"banyan: cannot use certificate {certfile} / key {keyfile}: {err}") from None
    adapter = BuiltinSSLAdapter(certfile, keyfile)
    adapter.context = context
    return adapter


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` → (host, port); a bare port means 127.0.0.1."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        raise SystemExit(f"banyan: --listen wants HOST:PORT, not {text!r}") from None
