"""Node commands: `nodes`, `node add|remove|drain`, and `stats`."""

import argparse
import sys

from . import show
from .client import OK, Client, id_arg, quote

NODE_COLUMNS = [("name", "NAME"), ("state", "STATE"), ("cores", "CORES"), ("memory", "MEMORY"),
                ("gpus", "GPUS"), ("labels", "LABELS"), ("uri", "URI"), ("last-seen", "LAST SEEN")]
NODE_KEYS = [key for key, _ in NODE_COLUMNS]


def add(sub, common) -> None:
    json_opt = argparse.ArgumentParser(add_help=False)
    json_opt.add_argument("--json", action="store_true", help="print the API's JSON answer")

    p = sub.add_parser("nodes", parents=[common, json_opt], help="registered nodes, as a table",
                       epilog="example: banyan nodes --available --cores 4 --memory 8G")
    p.add_argument("--available", action="store_true", help="only nodes that can take a job now")
    p.add_argument("--cores", type=int, help="with --available: room for this many cores")
    p.add_argument("--memory", metavar="SIZE", help="with --available: room for this much memory")
    p.set_defaults(func=nodes)

    node = sub.add_parser("node", parents=[common], help="add, remove or drain a node",
                          epilog="examples:\n  banyan node add n2 http://10.0.0.2:8081 --cores 8 "
                          "--memory 16G --label big\n  banyan node drain n2\n  banyan node remove n2",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = node.add_subparsers(dest="verb", metavar="add|remove|drain", required=True)
    p = verbs.add_parser("add", parents=[common, json_opt],
                         help="register a node (or change a registered one)")
    p.add_argument("name", metavar="NAME", type=id_arg("node name"))
    p.add_argument("uri", metavar="URI", help="its processor API, e.g. http://10.0.0.2:8081")
    p.add_argument("--cores", type=int)
    p.add_argument("--memory", metavar="SIZE", help="bytes, or a size like 16G, '64 GiB'")
    p.add_argument("--gpus", type=int)
    p.add_argument("--label", action="append", default=[], metavar="LABEL",
                   help="a label jobs may ask for with --node (repeatable, or a,b)")
    p.set_defaults(func=node_add)
    p = verbs.add_parser("remove", parents=[common, json_opt], help="unregister a node")
    p.add_argument("name", metavar="NAME", type=id_arg("node name"))
    p.set_defaults(func=node_remove)
    p = verbs.add_parser("drain", parents=[common, json_opt],
                         help="place no new jobs on a node; running ones finish")
    p.add_argument("name", metavar="NAME", type=id_arg("node name"))
    p.set_defaults(func=node_drain)

    p = sub.add_parser("stats", parents=[common, json_opt],
                       help="jobs by state, jobs per second, queue wait, nodes")
    p.set_defaults(func=stats)


def client(args) -> Client:
    return Client(args.url, args.token)


def node_record(node: dict) -> str:
    return show.record(node, NODE_KEYS, {"memory": show.size})


def nodes(args) -> int:
    if args.available:
        query = {"cores": args.cores, "memory": args.memory}
        answer = client(args).json("GET", "/scheduler/nodes/available", query=query)
    else:
        answer = client(args).json("GET", "/scheduler/nodes")
    if args.json:
        print(show.to_json(answer))
    else:
        sys.stdout.write(show.table(answer.get("nodes") or [], NODE_COLUMNS, {"memory": show.size}))
    return OK


def node_add(args) -> int:
    body = {"name": args.name, "uri": args.uri}
    for key in ("cores", "memory", "gpus"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    labels = [x for item in args.label for x in item.split(",") if x]
    if labels:
        body["labels"] = labels
    answer = client(args).json("POST", "/scheduler/nodes", body=body)
    sys.stdout.write(show.to_json(answer) + "\n" if args.json else node_record(answer))
    return OK


def node_remove(args) -> int:
    answer = client(args).json("DELETE", f"/scheduler/nodes/{quote(args.name)}")
    print(show.to_json(answer) if args.json else f"{args.name} removed")
    return OK


def node_drain(args) -> int:
    answer = client(args).json("POST", f"/scheduler/nodes/{quote(args.name)}/drain")
    print(show.to_json(answer) if args.json else f"{args.name} {show.word(answer.get('state'))}")
    return OK


def stats(args) -> int:
    answer = client(args).json("GET", "/scheduler/stats")
    sys.stdout.write(show.to_json(answer) + "\n" if args.json else show.stats_text(answer))
    return OK
