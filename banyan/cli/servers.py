"""Commands that run a part of the system: up, serve, scheduler, processor."""

import os

from .. import defaults
from ..wsgi import parse_listen


def add(sub, common) -> None:
    p = sub.add_parser("up", parents=[common], help="scheduler + local processor + API, all in one")
    p.add_argument("--listen", default="127.0.0.1:8080", help="API address (HOST:PORT)")
    p.add_argument("--node-timeout", type=float, default=defaults.NODE_TIMEOUT)
    backlog_option(p)
    ca_option(p)
    p.set_defaults(func=up)

    p = sub.add_parser("serve", parents=[common], help="the HTTP API on a production WSGI server")
    p.add_argument("--listen", default="127.0.0.1:8080")
    tls_options(p)
    p.set_defaults(func=serve)

    p = sub.add_parser("scheduler", parents=[common], help="scheduler daemon, or one pass with --once")
    p.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    p.add_argument("--node-timeout", type=float, default=defaults.NODE_TIMEOUT)
    backlog_option(p)
    ca_option(p)
    p.set_defaults(func=scheduler)

    p = sub.add_parser("processor", parents=[common], help="the node service that runs jobs")
    p.add_argument("--listen", default="127.0.0.1:8081")
    p.add_argument("--name", default="local", help="this node's name, used in its reports")
    p.add_argument("--scheduler", default=None,
                   help="API URL to register with (and heartbeat) and to report job ends to; "
                        "without it ends go to --url and nothing registers")
    p.add_argument("--advertise", default=None, help="this node's URL as the scheduler should "
                   "call it (default http://LISTEN)")
    p.add_argument("--cores", type=int, default=None,
                   help="cores to offer (default: all; slurm: the partition's)")
    p.add_argument("--memory", default=None,
                   help="memory to offer, e.g. '16 GiB' (default: all; slurm: the partition's)")
    p.add_argument("--gpus", type=int, default=None, help="GPUs to offer (default: 0; slurm: the partition's)")
    p.add_argument("--label", action="append", default=[], help="a label jobs may ask for (repeatable)")
    tls_options(p)
    p.add_argument("--backend", choices=("local", "slurm"), default="local",
                   help="run jobs on this machine (local) or as Slurm batch jobs (slurm)")
    p.add_argument("--drop-reports", action="store_true",
                   help="this processor shares the scheduler's state folder (as under `up`): "
                        "write reports of job starts and ends into it instead of POSTing them")
    p.add_argument("--partition", default=None, help="slurm: the partition (default: the cluster's)")
    p.add_argument("--account", default=None, help="slurm: the account to charge")
    p.set_defaults(func=processor)


def ca_option(p) -> None:
    p.add_argument("--cafile", default=None, help="CA certificates that https nodes and "
                   "schedulers must be signed by (BANYAN_CA_FILE; default: the system's)")


def tls_options(p) -> None:
    p.add_argument("--certfile", default=None, help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--keyfile", default=None, help="its private key (default: in --certfile)")
    ca_option(p)


def backlog_option(p) -> None:
    p.add_argument("--backlog", type=float, default=defaults.BACKLOG,
                   help="jobs a node may hold waiting to start, as a multiple of its size "
                        f"(default {defaults.BACKLOG:g}; more on a node of short jobs, up to "
                        f"{defaults.MAX_BACKLOG:g}; 0: only what it can start at once)")


def use_cafile(args) -> None:
    """--cafile goes to the environment, so child processes and every client see it."""
    if args.cafile:
        os.environ["BANYAN_CA_FILE"] = os.path.abspath(args.cafile)


def up(args) -> int:
    from ..up import run
    use_cafile(args)
    host, port = parse_listen(args.listen)
    return run(args.state, host, port, node_timeout=args.node_timeout, backlog=args.backlog)


def serve(args) -> int:
    from ..api.serve import run
    use_cafile(args)
    host, port = parse_listen(args.listen)
    return run(args.state, host, port, certfile=args.certfile, keyfile=args.keyfile)


def scheduler(args) -> int:
    from ..scheduler.daemon import run
    use_cafile(args)
    return run(args.state, once=args.once, node_timeout=args.node_timeout, backlog=args.backlog)


def processor(args) -> int:
    from ..processor.main import run
    use_cafile(args)
    from ..request import memory_bytes
    host, port = parse_listen(args.listen)
    if args.backend != "slurm" and (args.partition or args.account):
        raise SystemExit("banyan: --partition and --account go with --backend slurm")
    return run(args.state, host, port, name=args.name, scheduler_url=args.scheduler or args.url,
               register=args.scheduler is not None, advertise=args.advertise, cores=args.cores,
               memory=None if args.memory is None else memory_bytes(args.memory), gpus=args.gpus,
               labels=args.label, token=args.token, certfile=args.certfile, keyfile=args.keyfile,
               backend=args.backend, partition=args.partition, account=args.account,
               drop_reports=args.drop_reports)
