"""Where a `notify` URL may point: http or https, to public addresses only (SPEC §5, RELIABILITY §3.4).

A notification is a request the scheduler makes on a user's behalf, so a URL must not
reach what only the scheduler can: loopback, private, link-local (cloud metadata at
169.254.169.254), multicast or otherwise non-global addresses. The host is resolved
once and every address it resolves to must pass; the connection then goes to that
address, so a second lookup cannot rebind the name. Spellings like `127.1`,
`0x7f000001` or `[::ffff:127.0.0.1]` resolve to loopback and fail the same way.
`BANYAN_NOTIFY_ALLOW` (comma-separated CIDRs) admits ranges, e.g. `127.0.0.0/8` for tests.
"""

import ipaddress
import os
import socket
import urllib.parse

from .errors import BadRequest

ALLOW_ENV = "BANYAN_NOTIFY_ALLOW"


def allowed_networks(environ=os.environ) -> list:
    """The CIDRs of BANYAN_NOTIFY_ALLOW; a bad entry stops the server rather than admit too much."""
    text = environ.get(ALLOW_ENV, "")
    try:
        return [ipaddress.ip_network(x.strip(), strict=False) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise SystemExit(f"banyan: {ALLOW_ENV}: {err}") from None


def syntax(url: str) -> urllib.parse.SplitResult:
    """Check the form of the URL alone (no DNS): http(s), a host, a port that is a number."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadRequest("notify must be an http:// or https:// URL")
    if not parts.hostname:
        raise BadRequest("notify URL has no host")
    if parts.username is not None or parts.password is not None:
        raise BadRequest("notify URL must not hold credentials; put a secret in its path instead")
    try:
        parts.port
    except ValueError:
        raise BadRequest("notify URL has a bad port") from None
    if any(not c.isprintable() or c.isspace() for c in url):
        raise BadRequest("notify URL holds spaces or control characters")
    return parts


def resolve(url: str, allow: list) -> tuple[urllib.parse.SplitResult, list[str]]:
    """The URL's parts and the addresses to connect to; BadRequest says why it is refused."""
    parts = syntax(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise BadRequest(f"notify host {parts.hostname!r} does not resolve: {err}") from None
    addresses = []
    for info in infos:
        text = info[4][0]
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not permitted(ip, allow):
            raise BadRequest(f"notify host {parts.hostname!r} resolves to {ip}, which is not a public "
                             f"address (admit it with {ALLOW_ENV})")
        if text not in addresses:
            addresses.append(text)
    return parts, addresses


def permitted(ip, allow: list) -> bool:
    if any(ip.version == net.version and ip in net for net in allow):
        return True
    return ip.is_global and not ip.is_multicast
