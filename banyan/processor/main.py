"""`banyan processor`: recover, then serve the processor API."""

import sys

from ..spool import Spool
from ..wsgi import serve
from .app import make_app
from .launcher import Launcher
from .runner import Runner


def run(state_dir: str, host: str, port: int, *, name: str = "local",
        scheduler_url: str | None = None, token: str | None = None) -> int:
    spool = Spool(state_dir)
    banyan_url = scheduler_url
    launcher = Launcher(spool.processor, name, scheduler_url, banyan_url, token)  # before any thread
    runner = Runner(spool.processor, launcher)
    launched = runner.recover()
    if launched:
        print(f"banyan processor: launched {launched} attempts left unstarted", file=sys.stderr)
    serve(make_app(runner, name), host, port)
    return 0
