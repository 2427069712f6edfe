"""Read a token from `Authorization` and look it up; never crash on garbage (pueue#619).

Bearer is the form to use. HTTP Basic with the token as user name and an empty
password also works, except behind busybox httpd, which swallows Basic headers
(RELIABILITY §3.3): the 401 says so. Tokens in query strings are never read: they
would land in access logs.
"""

import base64
import binascii
import functools
import ipaddress
from typing import NamedTuple

from ..errors import Unauthorized
from ..spool.tokens import Tokens

MAX_TOKEN = 512
"""Longer credentials are refused before hashing; ours are 43 characters."""

HINT = ("send Authorization: Bearer <token> (make one with `banyan token create NAME "
        "--role user`; behind busybox httpd only Bearer reaches the API)")


class Identity(NamedTuple):
    name: str
    role: str


@functools.lru_cache(maxsize=1024)
def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; False for anything else, garbage included.
    Kept per address: a server sees few, and the parse cost 4 µs of every request."""
    if host == "localhost":
        return True
    try:
        addr = ipaddress.ip_address((host or "").strip("[]").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


def presented(environ: dict) -> str | None:
    """The token in the request, or None if there is no Authorization header."""
    header = environ.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        token = value
    elif scheme.lower() == "basic" and value:
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            raise Unauthorized("malformed Basic credentials") from None
        if not sep or password:
            raise Unauthorized("Basic: use the token as user name and an empty password")
        token = user
    else:
        raise Unauthorized(f"unsupported Authorization scheme; {HINT}")
    if len(token) > MAX_TOKEN or not token.isprintable():
        raise Unauthorized("malformed token")
    return token


def authenticate(environ: dict, tokens: Tokens) -> Identity | None:
    """The caller's identity; None means open access (no token exists, caller on loopback).

    The open case needs both: a request from elsewhere with no tokens defined is refused,
    so a server bound to a public address by mistake, or a CGI behind a public web
    server, is never open.
    """
    token = presented(environ)
    if token is None:
        if not tokens.any():
            if is_loopback(environ.get("REMOTE_ADDR")):
                return None
            raise Unauthorized("no tokens exist and the request is not from loopback: "
                               "make one with `banyan token create NAME --role admin`")
        raise Unauthorized(f"a token is required: {HINT}")
    found = tokens.find(token)
    if found is None:
        raise Unauthorized("unknown or revoked token")
    return Identity(*found)


def refuse_to_listen(tokens: Tokens, host: str, state_dir: str) -> str | None:
    """Why a server must not start on `host` (SPEC §6: off loopback, tokens are required), or None."""
    if is_loopback(host) or tokens.any():
        return None
    return (f"banyan: refusing to listen on {host} without tokens: anyone who can reach it could "
            f"run commands. Make one first: banyan --state {state_dir} token create NAME --role admin")
