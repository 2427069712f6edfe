"""`banyan dag ID [--dot]`: a job's direct parent, children, dependencies and dependents as
text; with `--dot`, the whole walk (every relative, every edge) as Graphviz dot."""

import sys

from ..dag_dot import to_dot
from . import show
from .client import OK, Client, id_arg, quote


def add(sub, common) -> None:
    p = sub.add_parser("dag", parents=[common], help="a job's relatives; --dot for Graphviz",
                       epilog="example: banyan dag 660ffdfd89b6041e3 --dot | dot -Tsvg > dag.svg")
    p.add_argument("id", metavar="ID", type=id_arg())
    form = p.add_mutually_exclusive_group()
    form.add_argument("--dot", action="store_true", help="print a Graphviz digraph")
    form.add_argument("--json", action="store_true", help="print the API's JSON answer")
    p.set_defaults(func=dag)


def dag(args) -> int:
    depth = "" if args.dot else "?depth=1"
    data = Client(args.url, args.token).json("GET", f"/scheduler/jobs/{quote(args.id)}/dag{depth}")
    if args.json:
        text = show.to_json(data) + "\n"
    elif args.dot:
        text = to_dot(data)
    else:
        text = show.dag_text(data)
    sys.stdout.write(text)
    return OK
