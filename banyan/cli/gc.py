"""`banyan gc [--older-than AGE] [--dry-run]`: apply the retention to a state folder."""

import os
import re
import sys

from .. import defaults

UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add(sub, common) -> None:
    p = sub.add_parser("gc", parents=[common], help="remove stopped jobs older than the retention",
                       epilog="example: banyan gc --older-than 7d   (cron it on the scheduler and on each node)")
    p.add_argument("--older-than", type=age, metavar="AGE",
                   default=os.environ.get("BANYAN_RETENTION") or f"{int(defaults.RETENTION)}",
                   help="seconds, or 30m, 12h, 7d (BANYAN_RETENTION; default 7d)")
    p.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    p.set_defaults(func=run)


def age(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text))
    if not m:
        raise ValueError(f"not an age: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def run(args) -> int:
    from ..gc import collect
    from ..spool import Spool
    spool = Spool(args.state, create=False)
    if not spool.layout.exists():
        print(f"banyan: {args.state} is not a state folder", file=sys.stderr)
        return 2
    for line in collect(spool, args.older_than, dry_run=args.dry_run):
        print(line)
    return 0
