"""`make_app(spool)`: the one WSGI app behind every front end (STYLE practice 12)."""

import bottle

from .. import auth
from ..spool import Spool
from ..web import guard_ids, new_app
from . import access, artifacts, dag, jobs, modaclouds, nodes, stats


def make_app(spool: Spool) -> bottle.Bottle:
    app = new_app()
    auth.install(app, spool.tokens, access.policy(spool))
    jobs.install(app, spool)
    artifacts.install(app, spool)
    dag.install(app, spool)
    nodes.install(app, spool)
    stats.install(app, spool)
    modaclouds.install(app, spool)
    guard_ids(app, "/scheduler/jobs/", "/scheduler/nodes/", "/jobs/")
    return app
