"""`banyan [--url URL] [--token TOKEN] [--state DIR] COMMAND ...`: parse and dispatch.

The global options are accepted before or after the command (SPEC §7). Each command
module adds its own sub-parsers and sets `func(args) -> exit code`.
"""

import argparse
import os
import sys

from ..errors import BanyanError
from . import gc, servers

MODULES = (servers, gc)


def global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The same three options on the main parser (with defaults) and on every command."""
    sup = None if defaults else argparse.SUPPRESS
    parser.add_argument("--url", default=os.environ.get("BANYAN_URL", "http://127.0.0.1:8080")
                        if defaults else sup, help="API URL (BANYAN_URL)")
    parser.add_argument("--token", default=os.environ.get("BANYAN_TOKEN") if defaults else sup,
                        help="API token (BANYAN_TOKEN)")
    parser.add_argument("--state", default=os.environ.get("BANYAN_STATE", "state")
                        if defaults else sup, help="state folder (BANYAN_STATE)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="banyan", description="A job scheduler whose state is a folder of files.")
    global_options(top, defaults=True)
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    global_options(common, defaults=False)
    for module in MODULES:
        module.add(sub, common)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except BanyanError as err:
        print(f"banyan: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
