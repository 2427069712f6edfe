"""The production WSGI server behind `banyan serve`, `banyan up` and `banyan processor`."""

import bottle


def serve(app: bottle.Bottle, host: str, port: int, threads: int = 8,
          certfile: str | None = None, keyfile: str | None = None) -> None:
    """Serve `app` until interrupted (threaded, so a streaming log never blocks others).

    waitress for plain HTTP; waitress has no TLS, so with a certificate cheroot serves
    instead, doing each handshake in a worker thread.
    """
    if certfile:
        return serve_tls(app, host, port, threads, certfile, keyfile or certfile)
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads, ident="banyan",
                   channel_timeout=120, clear_untrusted_proxy_headers=True, _quiet=True)


def serve_tls(app: bottle.Bottle, host: str, port: int, threads: int, certfile: str,
              keyfile: str) -> None:
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    from .tls import server_context

    try:  # fail here, with the reason, not at each request
        context = server_context(certfile, keyfile)
    except OSError as err:  # ssl.SSLError is an OSError
        raise SystemExit(f"banyan: cannot use certificate {certfile} / key {keyfile}: {err}") from None
    server = wsgi.Server((host, port), app, numthreads=threads, server_name="banyan", timeout=120)
    adapter = BuiltinSSLAdapter(certfile, keyfile)
    adapter.context = context
    server.ssl_adapter = adapter
    server.safe_start()


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` → (host, port); a bare port means 127.0.0.1."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        raise SystemExit(f"banyan: --listen wants HOST:PORT, not {text!r}") from None
