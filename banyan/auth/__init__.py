"""Who is asking: tokens from `Authorization` (SPEC §6), and the hook that enforces them.

`authenticate` turns a WSGI environ into an `Identity` or raises `Unauthorized`;
`install` puts it, and a per-app policy for roles, in front of every route.
"""

from .credentials import Identity, authenticate, is_loopback, refuse_to_listen
from .guard import current, install

__all__ = ["Identity", "authenticate", "current", "install", "is_loopback", "refuse_to_listen"]
