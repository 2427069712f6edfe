"""`banyan [--url URL] [--token TOKEN] [--state DIR] COMMAND ...`: parse and dispatch.

The global options are accepted before or after the command (SPEC §7). Each command
module adds its own sub-parsers and sets `func(args) -> exit code`.
"""

import argparse
import os
import sys

from ..errors import BanyanError
from . import dag, gc, jobs, nodes, servers, tokens
from .client import USAGE, CliError

MODULES = (servers, jobs, dag, nodes, tokens, gc)

EPILOG = """examples:
  banyan up                                   scheduler + local node + API on 127.0.0.1:8080
  banyan submit -- echo hi                    prints the job's id
  banyan submit --wait --shell -- 'make test' progress on stderr; exit 0 if good, 1 if not
  banyan list --state running                 jobs, as a table
  banyan status ID / log -f ID / kill ID      one job
  banyan dag ID --dot | dot -Tsvg > dag.svg   a job's parents, children and dependencies
  banyan nodes / node add n2 http://10.0.0.2:8081 --cores 8 / stats
  banyan token create alice --role user       prints a token once; token list / token revoke NAME

exit codes:
  0  ok
  1  the job stopped with status error (submit --wait)
  2  bad usage
  3  the server refused the request (4xx: no such job, not allowed in its state, ...)
  4  the server could not be reached, or failed (5xx)
"""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, then exit 2."""

    def error(self, message: str):
        self.exit(USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def global_options(parser: argparse.ArgumentParser, defaults: bool, state: bool = True) -> None:
    """The same three options on the main parser (with defaults) and on every command.

    `state=False` leaves out --state DIR, for `list`, whose --state is a job state.
    """
    sup = None if defaults else argparse.SUPPRESS
    parser.add_argument("--url", default=os.environ.get("BANYAN_URL", "http://127.0.0.1:8080")
                        if defaults else sup, help="API URL (BANYAN_URL)")
    parser.add_argument("--token", default=os.environ.get("BANYAN_TOKEN") if defaults else sup,
                        help="API token (BANYAN_TOKEN)")
    if not state:
        return
    parser.add_argument("--state", default=os.environ.get("BANYAN_STATE", "state")
                        if defaults else sup, help="state folder (BANYAN_STATE)")


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="banyan", description="A job scheduler whose state is a folder of files.",
                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    except CliError as err:
        print(f"banyan: {err}", file=sys.stderr)
        return err.code
    except BrokenPipeError:  # `banyan list | head`: the reader left; say nothing
        sys.stderr.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except BanyanError as err:
        print(f"banyan: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
