"""`banyan processor`: recover, register with the scheduler if asked, serve the processor API."""

import os
import sys

import psutil

from ..auth import refuse_to_listen
from ..spool import Spool
from ..wsgi import serve
from .app import make_app
from .launcher import Launcher
from .register import Registration
from .runner import Runner


def run(state_dir: str, host: str, port: int, *, name: str = "local",
        scheduler_url: str | None = None, register: bool = False, advertise: str | None = None,
        cores: int | None = None, memory: int | None = None, gpus: int = 0,
        labels: list[str] | None = None, token: str | None = None,
        certfile: str | None = None, keyfile: str | None = None) -> int:
    """`scheduler_url` receives the reports of job ends; with `register`, also this node's
    registration and heartbeat, advertising `advertise` (default: the listen address)."""
    spool = Spool(state_dir)
    refusal = refuse_to_listen(spool.tokens, host, spool.root)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    launcher = Launcher(spool.processor, name, scheduler_url, scheduler_url, token)  # before any thread
    runner = Runner(spool.processor, launcher)
    launched = runner.recover()
    if launched:
        print(f"banyan processor: launched {launched} attempts left unstarted", file=sys.stderr)
    if register and scheduler_url:
        node = {"name": name, "uri": advertise or f"{'https' if certfile else 'http'}://{host}:{port}",
                "cores": cores or os.cpu_count() or 1,
                "memory": memory if memory is not None else psutil.virtual_memory().total,
                "gpus": gpus, "labels": labels or []}
        Registration(scheduler_url, node, token).start()
    serve(make_app(runner, name), host, port, certfile=certfile, keyfile=keyfile)
    return 0
