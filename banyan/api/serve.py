"""`banyan serve`: the API on the production WSGI server."""

from ..spool import Spool
from ..wsgi import serve
from .app import make_app


def run(state_dir: str, host: str, port: int) -> int:
    serve(make_app(Spool(state_dir)), host, port)
    return 0
