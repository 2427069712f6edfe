"""The production WSGI server behind `banyan serve`, `banyan up` and `banyan processor`."""

import bottle


def serve(app: bottle.Bottle, host: str, port: int, threads: int = 8) -> None:
    """Serve `app` until interrupted (waitress: threaded, so a streaming log never blocks others)."""
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads, ident="banyan",
                   channel_timeout=120, clear_untrusted_proxy_headers=True, _quiet=True)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` → (host, port); a bare port means 127.0.0.1."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        raise SystemExit(f"banyan: --listen wants HOST:PORT, not {text!r}") from None
