"""`make_app(spool)`: the one WSGI app behind every front end (STYLE practice 12)."""

import bottle

from ..spool import Spool
from ..web import guard_ids, new_app
from .. import auth
from . import access, jobs, nodes, stats


def make_app(spool: Spool) -> bottle.Bottle:
    app = new_app()
    auth.install(app, spool.tokens, access.policy(spool))
    jobs.install(app, spool)
    nodes.install(app, spool)
    stats.install(app, spool)
    guard_ids(app, "/scheduler/jobs/", "/scheduler/nodes/")
    return app
