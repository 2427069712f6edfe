"""`auth/tokens/<name>`: one file per token holding `<role> <sha256 hex>`, never the token.

The only code that knows where tokens live. An unsalted sha256 is enough for 256-bit
random secrets (RELIABILITY §3.6): there is nothing to guess. Lookups hash the
presented token first and compare digests with `hmac.compare_digest`, so neither
timing nor length says anything about a stored token.
"""

import hashlib
import hmac
import os
import secrets
import time

from ..errors import BadRequest, NotFound
from . import ids
from .atomic import read_text, write_bytes
from .paths import Layout

ROLES = ("user", "admin", "node")
LISTING_SETTLE = 1.0
"""Seconds a folder must have been unchanged for its listing to be kept (see `names`)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Tokens:
    def __init__(self, layout: Layout):
        self.layout = layout
        self._listed: tuple[tuple[int, int], list[str]] | None = None

    def create(self, name: str, role: str, token: str | None = None, replace: bool = False) -> str:
        """Store a new token's hash under `name` and return the token (shown once).

        `token` imports one made elsewhere (a node token shared by two state folders).
        """
        path = self.layout.token_file(name)
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if os.path.lexists(path) and not replace:
            raise BadRequest(f"a token named {name} exists; revoke it first")
        token = token or secrets.token_urlsafe(32)
        if len(token) < 20:
            raise BadRequest("a token must be at least 20 characters")
        os.makedirs(self.layout.tokens, mode=0o700, exist_ok=True)
        write_bytes(self.layout.tmp, path, f"{role} {digest(token)}\n".encode(), durable=True)
        os.chmod(path, 0o600)
        return token

    def revoke(self, name: str) -> None:
        try:
            os.unlink(self.layout.token_file(name))
        except FileNotFoundError:
            raise NotFound(f"no token named {name}") from None

    def names(self) -> list[str]:
        """Every token's name. Each API request asks (are there any? which is this?), so
        the listing is kept while the folder's mtime stays as it was, if that mtime was
        already LISTING_SETTLE old when listed: a token made or revoked later moves it,
        even on a clock as coarse as the kernel's tick. A stat instead of a listing: 3
        against 8–15 µs of every request."""
        try:
            st = os.stat(self.layout.tokens)
        except FileNotFoundError:
            return []
        key, listed = (st.st_ino, st.st_mtime_ns), self._listed
        if listed is not None and listed[0] == key:
            return list(listed[1])
        try:
            names = sorted(n for n in os.listdir(self.layout.tokens) if ids.valid(n))
        except FileNotFoundError:
            return []
        if time.time() - st.st_mtime > LISTING_SETTLE:
            self._listed = (key, names)
        return list(names)

    def any(self) -> bool:
        return bool(self.names())

    def entries(self) -> list[tuple[str, str, str]]:
        """(name, role, digest) of every well-formed token file; malformed ones count for nothing."""
        out = []
        for name in self.names():
            fields = (read_text(os.path.join(self.layout.tokens, name)) or "").split()
            if len(fields) == 2 and fields[0] in ROLES and len(fields[1]) == 64:
                out.append((name, fields[0], fields[1]))
        return out

    def find(self, token: str) -> tuple[str, str] | None:
        """(name, role) of the token, or None. Compares against every entry, in constant time each."""
        wanted = digest(token)
        found = None
        for name, role, stored in self.entries():
            if hmac.compare_digest(wanted, stored):
                found = (name, role)
        return found
