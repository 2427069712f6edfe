"""The before-request hook that authenticates every request and asks the app's policy.

A hook rather than a plugin so that unknown paths need a token too: it matches the
route itself (bottle routes again right after, which costs microseconds) and leaves
404/405 to bottle.
"""

from collections.abc import Callable

import bottle

from ..errors import BanyanError, Unauthorized
from ..spool.tokens import Tokens
from .credentials import Identity, authenticate

KEY = "banyan.identity"
Policy = Callable[[Identity, str, str, dict], None]
"""policy(identity, method, rule, url_args) raises Forbidden when the role may not."""


def current() -> Identity | None:
    """The identity of the request being handled; None when access is open."""
    return bottle.request.environ.get(KEY)


def install(app: bottle.Bottle, tokens: Tokens, policy: Policy) -> None:
    @app.hook("before_request")
    def check():
        environ = bottle.request.environ
        try:
            identity = authenticate(environ, tokens)
            environ[KEY] = identity
            if identity is None or identity.role == "admin":
                return
            try:
                route, args = app.router.match(environ)
            except bottle.HTTPError:
                return
            policy(identity, route.method, route.rule, args)
        except BanyanError as err:
            headers = {"WWW-Authenticate": 'Bearer realm="banyan"'} if isinstance(err, Unauthorized) else {}
            raise bottle.HTTPError(err.status, str(err), **headers) from None
