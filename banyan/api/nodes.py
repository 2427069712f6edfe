"""Node routes (SPEC §5): list, available, register, unregister, drain, and nodes' reports."""

import re
import time

import bottle

from .. import web
from ..errors import BadRequest, NotFound
from ..request import memory_bytes
from ..spool import Spool, ids

NODE_FIELDS = {"name", "uri", "cores", "memory", "gpus", "labels"}
PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URI_PATTERN = rf"^https?://[A-Za-z0-9._~-]+(:{PORT})?(/[A-Za-z0-9._~/-]*)?$"
"""A node's address: http(s), a host name or IPv4 address, a port, a path (behind a proxy)."""
LABELS_PATTERN = r"^(,|[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(?=,|$))*$"
"""Labels as one string: names (as ids) separated by commas."""
LISTING = ["name", "uri", "state", "cores", "memory", "gpus", "labels", "last-seen"]


def parse_node(data: dict) -> dict:
    """Check a registration body; the uri must be http(s) with a host."""
    unknown = sorted(set(data) - NODE_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}")
    name = ids.check(data.get("name"), "node name")
    uri = data.get("uri")
    if not isinstance(uri, str) or not re.fullmatch(URI_PATTERN, uri):
        raise BadRequest("uri must be http(s)://HOST[:PORT][/PATH], HOST a name or an IPv4 address")
    node = {"name": name, "uri": uri.rstrip("/"), "memory": memory_bytes(data.get("memory", 0))}
    for key in ("cores", "gpus"):
        value = data.get(key, 1 if key == "cores" else 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1 << 20:
            raise BadRequest(f"{key} must be a whole number")
        node[key] = value
    labels = data.get("labels", [])
    if isinstance(labels, str):
        labels = [x for x in labels.split(",") if x]
    if not isinstance(labels, list):
        raise BadRequest("labels must be a list of names")
    node["labels"] = [ids.check(x, "label") for x in labels]
    return node


def install(app: bottle.Bottle, spool: Spool) -> None:
    from .jobs import LazyActions
    actions = LazyActions(spool)

    def listing(nodes: list[dict]):
        if web.wants_text():
            return web.text_lines(nodes, LISTING)
        return {"nodes": nodes}

    @app.get("/scheduler/nodes")
    def list_nodes():
        return listing(spool.nodes.all())

    @app.get("/scheduler/nodes/available")
    def available():
        cores = web.whole("cores", 1, 0, 1 << 20)
        memory = memory_bytes(bottle.request.query.get("memory", "0"))
        from ..scheduler.place import Placer
        rooms = Placer(spool, actions.clients, backlog=0).rooms()  # room to start now
        need = {"cores": cores, "memory": memory, "gpus": 0}
        free = [r.name for r in rooms.values() if r.state == "up" and r.fits(need)]
        return listing([spool.nodes.get(name) for name in free])

    @app.post("/scheduler/nodes")
    def register():
        node = parse_node(web.json_body())
        created = not spool.nodes.exists(node["name"])
        spool.nodes.register(node, time.time())
        bottle.response.status = 201 if created else 200
        return spool.nodes.get(node["name"])

    @app.get("/scheduler/nodes/<name>")
    def node_record(name):
        return spool.nodes.get(ids.check(name, "node name"))

    @app.delete("/scheduler/nodes/<name>")
    def unregister(name):
        ids.check(name, "node name")
        spool.nodes.get(name)
        with actions.locked():
            actions.evict(name, time.time())
            spool.nodes.remove(name)
        return {"removed": name}

    @app.post("/scheduler/nodes/<name>/drain")
    def drain(name):
        spool.nodes.set(ids.check(name, "node name"), "state", "draining")
        return spool.nodes.get(name)

    @app.post("/scheduler/nodes/<name>/report")
    def report(name):
        if not spool.nodes.exists(ids.check(name, "node name")):
            raise NotFound(f"no node {name}")
        data = web.json_body()
        jobs = data.get("jobs")
        if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
            raise BadRequest("a report is {\"jobs\": [{...}, ...]}")
        spool.reports.put(name, jobs)
        return {"accepted": len(jobs)}
