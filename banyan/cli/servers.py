"""Commands that run a part of the system: up, serve, scheduler, processor."""

from .. import defaults
from ..wsgi import parse_listen


def add(sub, common) -> None:
    p = sub.add_parser("up", parents=[common], help="scheduler + local processor + API, all in one")
    p.add_argument("--listen", default="127.0.0.1:8080", help="API address (HOST:PORT)")
    p.add_argument("--node-timeout", type=float, default=defaults.NODE_TIMEOUT)
    p.set_defaults(func=up)

    p = sub.add_parser("serve", parents=[common], help="the HTTP API on a production WSGI server")
    p.add_argument("--listen", default="127.0.0.1:8080")
    p.set_defaults(func=serve)

    p = sub.add_parser("scheduler", parents=[common], help="scheduler daemon, or one pass with --once")
    p.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    p.add_argument("--node-timeout", type=float, default=defaults.NODE_TIMEOUT)
    p.set_defaults(func=scheduler)

    p = sub.add_parser("processor", parents=[common], help="the node service that runs jobs")
    p.add_argument("--listen", default="127.0.0.1:8081")
    p.add_argument("--name", default="local", help="this node's name, used in its reports")
    p.add_argument("--scheduler", default=None,
                   help="API URL to report job ends to (default: --url)")
    p.add_argument("--backend", choices=("local", "slurm"), default="local",
                   help="run jobs on this machine (local) or as Slurm batch jobs (slurm)")
    p.add_argument("--partition", default=None, help="slurm: the partition (default: the cluster's)")
    p.add_argument("--account", default=None, help="slurm: the account to charge")
    p.set_defaults(func=processor)


def up(args) -> int:
    from ..up import run
    host, port = parse_listen(args.listen)
    return run(args.state, host, port, node_timeout=args.node_timeout)


def serve(args) -> int:
    from ..api.serve import run
    host, port = parse_listen(args.listen)
    return run(args.state, host, port)


def scheduler(args) -> int:
    from ..scheduler.daemon import run
    return run(args.state, once=args.once, node_timeout=args.node_timeout)


def processor(args) -> int:
    from ..processor.main import run
    host, port = parse_listen(args.listen)
    if args.backend != "slurm" and (args.partition or args.account):
        raise SystemExit("banyan: --partition and --account go with --backend slurm")
    return run(args.state, host, port, name=args.name, scheduler_url=args.scheduler or args.url,
               token=args.token, backend=args.backend, partition=args.partition, account=args.account)
