"""`banyan token create|list|revoke`: manage the tokens of the local state folder (SPEC §6).

These work on `--state` directly, not over HTTP: whoever can write the state folder
is the administrator already.
"""

import sys
from contextlib import contextmanager

from ..errors import BanyanError
from ..spool import Spool
from ..spool.tokens import ROLES
from .client import Usage


def add(sub, common) -> None:
    p = sub.add_parser("token", parents=[common], help="create, list or revoke API tokens")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    c = tsub.add_parser("create", parents=[common], help="make a token and print it (only once)",
                        description="Print a new token once; only its sha256 is stored. "
                                    "With --stdin, store a token made elsewhere (e.g. a node "
                                    "token shared by the scheduler's and a node's state folders).")
    c.add_argument("name", help="the token's name (becomes the owner of the jobs it submits)")
    c.add_argument("--role", choices=ROLES, default="user")
    c.add_argument("--stdin", action="store_true", help="read the token from standard input")
    c.set_defaults(func=create)
    ls = tsub.add_parser("list", parents=[common], help="name and role of every token")
    ls.set_defaults(func=list_tokens)
    r = tsub.add_parser("revoke", parents=[common], help="delete a token: it stops working at once")
    r.add_argument("name")
    r.set_defaults(func=revoke)


@contextmanager
def usage_errors():
    """A bad name, a taken name, an unknown token: bad usage (exit 2), like the other commands."""
    try:
        yield
    except BanyanError as err:
        raise Usage(str(err)) from None


def create(args) -> int:
    given = sys.stdin.readline().strip() if args.stdin else None
    with usage_errors():
        token = Spool(args.state).tokens.create(args.name, args.role, token=given)
    if not args.stdin:
        print(token)
    return 0


def list_tokens(args) -> int:
    for name, role, _ in Spool(args.state).tokens.entries():
        print(f"{name} {role}")
    return 0


def revoke(args) -> int:
    with usage_errors():
        Spool(args.state).tokens.revoke(args.name)
    return 0
