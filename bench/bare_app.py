#!/usr/bin/env python3
"""The HTTP baseline: a bare bottle app whose POST does one fsynced atomic write, nothing else.

    python3 bench/bare_app.py --spool DIR --listen 127.0.0.1:PORT

POST /scheduler/jobs/new: parse the JSON body (a dict, or 400), write it to DIR/tmp/,
fsync, rename into DIR/incoming/, fsync the folder, answer 201 {"request_id"} (the
durability SPEC §2 asks of a 201). Served by `banyan.wsgi.serve`, the same cheroot
server and settings as Banyan's API, so the ratio measures Banyan's own work per submit.
"""

import argparse
import json
import os
import sys
import uuid

import bottle

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from banyan.wsgi import parse_listen, serve  # noqa: E402


def make_app(spool: str) -> bottle.Bottle:
    app = bottle.Bottle()
    tmp, incoming = os.path.join(spool, "tmp"), os.path.join(spool, "incoming")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(incoming, exist_ok=True)

    @app.post("/scheduler/jobs/new")
    def submit():
        try:
            job = json.loads(bottle.request.body.read())
        except ValueError:
            job = None
        if not isinstance(job, dict):
            bottle.response.status = 400
            return {"error": "body must be a JSON object"}
        job_id = uuid.uuid4().hex
        path = os.path.join(tmp, job_id + ".job")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, json.dumps(job).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(path, os.path.join(incoming, job_id + ".job"))
        dfd = os.open(incoming, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        bottle.response.status = 201
        return {"request_id": job_id}

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spool", required=True)
    ap.add_argument("--listen", default="127.0.0.1:8090")
    args = ap.parse_args()
    host, port = parse_listen(args.listen)
    serve(make_app(args.spool), host, port)


if __name__ == "__main__":
    main()
