"""`banyan processor`: recover, register with the scheduler if asked, serve the processor API
with the chosen backend."""

import sys

from ..auth import refuse_to_listen
from ..spool import Spool
from ..wsgi import serve
from .app import make_app
from .backends import Backend
from .register import Registration


def run(state_dir: str, host: str, port: int, *, name: str = "local",
        scheduler_url: str | None = None, register: bool = False, advertise: str | None = None,
        cores: int | None = None, memory: int | None = None, gpus: int | None = None,
        labels: list[str] | None = None, token: str | None = None,
        certfile: str | None = None, keyfile: str | None = None, backend: str = "local",
        partition: str | None = None, account: str | None = None, drop_reports: bool = False) -> int:
    """`scheduler_url` receives the reports of job ends; with `register`, also this node's
    registration and heartbeat, advertising `advertise` (default: the listen address) and
    the backend's capacity unless `cores`, `memory`, `gpus` say otherwise. With
    `drop_reports` (the scheduler shares `state_dir`) the local backend writes its reports
    into the scheduler's folder instead of POSTing them."""
    spool = Spool(state_dir)
    refusal = refuse_to_listen(spool.tokens, host, spool.root)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    chosen: Backend
    if backend == "slurm":
        from .backends.slurm import SlurmBackend
        chosen = SlurmBackend(spool.processor, name, scheduler_url, scheduler_url, token,
                              partition=partition, account=account)
    else:
        from .backends.local import LocalBackend
        from .launcher import Launcher
        from .reporter import Reporter
        reporter = Reporter(name, scheduler_url, token, spool.reports if drop_reports else None)
        launcher = Launcher(spool.processor, name, scheduler_url, scheduler_url, token, reporter)  # before any thread
        chosen = LocalBackend(spool.processor, launcher, reporter, cores, memory, gpus)
        reporter.start(chosen.ended, chosen.tick)
    launched = chosen.recover()
    if launched:
        print(f"banyan processor: launched {launched} attempts left unstarted", file=sys.stderr)
    register_once_listening = None
    if register and scheduler_url:
        capacity = chosen.health()
        node = {"name": name, "uri": advertise or f"{'https' if certfile else 'http'}://{host}:{port}",
                "cores": cores or capacity["cores"],
                "memory": memory if memory is not None else capacity["memory"],
                "gpus": gpus if gpus is not None else capacity["gpus"], "labels": labels or []}
        register_once_listening = Registration(scheduler_url, node, token).start
    serve(make_app(chosen, name), host, port, certfile=certfile, keyfile=keyfile,
          ready=register_once_listening)
    return 0
