"""The production WSGI server behind `banyan serve`, `banyan up` and `banyan processor`.

cheroot (CherryPy's server): threaded, so a streaming log never blocks other requests;
TLS built in; and the fastest of the candidates measured here on the real API
(`bench/wsgi_servers.py`, figures in the README).
"""

import bottle


def serve(app: bottle.Bottle, host: str, port: int, threads: int = 8) -> None:
    """Serve `app` until interrupted."""
    from cheroot import wsgi

    server = wsgi.Server((host, port), app, numthreads=threads, server_name="banyan", timeout=120)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` → (host, port); a bare port means 127.0.0.1."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        raise SystemExit(f"banyan: --listen wants HOST:PORT, not {text!r}") from None
