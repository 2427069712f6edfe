"""`banyan processor`: recover, then serve the processor API with the chosen backend."""

import sys

from ..spool import Spool
from ..wsgi import serve
from .app import make_app
from .backends import Backend


def run(state_dir: str, host: str, port: int, *, name: str = "local",
        scheduler_url: str | None = None, token: str | None = None, backend: str = "local",
        partition: str | None = None, account: str | None = None) -> int:
    spool = Spool(state_dir)
    banyan_url = scheduler_url
    chosen: Backend
    if backend == "slurm":
        from .backends.slurm import SlurmBackend
        chosen = SlurmBackend(spool.processor, name, scheduler_url, banyan_url, token,
                              partition=partition, account=account)
    else:
        from .backends.local import LocalBackend
        from .launcher import Launcher
        launcher = Launcher(spool.processor, name, scheduler_url, banyan_url, token)  # before any thread
        chosen = LocalBackend(spool.processor, launcher)
    launched = chosen.recover()
    if launched:
        print(f"banyan processor: launched {launched} attempts left unstarted", file=sys.stderr)
    serve(make_app(chosen, name), host, port)
    return 0
