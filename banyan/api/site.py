"""Routes for people and tools reading Banyan: the web pages and the API's own description.

`/` (the jobs), `/ui/jobs/<id>`, `/ui/nodes`, `/openapi.json` and `/docs`. Their modules
load on first use, so a CGI request for a job's status compiles no template and builds
no document (tests/test_cgi.py checks what that path imports).
"""

import bottle

from ..spool import Spool


def routes(app: bottle.Bottle) -> set[tuple[str, str]]:
    return {(r.method, r.rule) for r in app.routes}


def base() -> str:
    """Where the app is mounted ("" for `banyan serve`, `/cgi-bin/banyan.cgi` under CGI)."""
    return bottle.request.script_name.rstrip("/")


def install(app: bottle.Bottle, spool: Spool) -> None:
    @app.get("/openapi.json")
    def openapi_json():
        from . import openapi
        return openapi.document(routes(app), base())

    @app.get("/docs")
    def docs():
        from . import apidocs, openapi
        return apidocs.page(openapi.document(routes(app), base()))

    @app.get("/")
    def jobs_page():
        from . import pages
        return pages.jobs(spool, bottle.request.query.get("state") or "", base())

    @app.get("/ui/jobs/<job_id>")
    def job_page(job_id):
        from . import pages
        return pages.job(spool, job_id, base())

    @app.get("/ui/nodes")
    def nodes_page():
        from . import pages
        return pages.nodes(spool, base())
