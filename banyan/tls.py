"""TLS on both sides: client connections checked against a CA file, and the server's certificate.

Banyan's nodes usually carry certificates from a private CA, so every https client here
(scheduler → node, API → node, node → scheduler) verifies against BANYAN_CA_FILE when it
is set, else against the system's CAs; verification is never turned off.
"""

import http.client
import os
import ssl

_contexts: dict[str | None, ssl.SSLContext] = {}


def client_context() -> ssl.SSLContext:
    """The context for https requests: hostname and chain checked, TLS 1.2 at least."""
    cafile = os.environ.get("BANYAN_CA_FILE") or None
    context = _contexts.get(cafile)
    if context is None:
        context = ssl.create_default_context(cafile=cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        _contexts[cafile] = context
    return context


def connection(scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
    """A connection to `scheme://host:port`; https ones verify the peer (see module doc)."""
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=client_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def server_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """The server side; raises OSError or ssl.SSLError with the reason if the files are unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    return context
