"""`banyan serve`: the API on the production WSGI server."""

import sys

from ..auth import refuse_to_listen
from ..spool import Spool
from ..wsgi import serve
from .app import make_app


def run(state_dir: str, host: str, port: int, certfile: str | None = None,
        keyfile: str | None = None) -> int:
    spool = Spool(state_dir)
    refusal = refuse_to_listen(spool.tokens, host, spool.root)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    serve(make_app(spool), host, port, certfile=certfile, keyfile=keyfile)
    return 0
