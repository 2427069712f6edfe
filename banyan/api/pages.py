"""The web pages: the jobs, one job, the nodes. Drawn on the server; no script, no asset.

Links start with `base`, where the app is mounted; the jobs page is `base` itself, since
busybox httpd takes `banyan.cgi/` (a trailing slash) for a folder.

bottle's SimpleTemplate escapes every `{{value}}`; the only raw insert is the SVG that
dagsvg draws (which escapes its own text). Pages whose content changes refresh
themselves with `<meta http-equiv="refresh">`, so they work without JavaScript. A user
token sees only its own jobs, as in the listings (the access policy checks a job page).
"""

import bottle

from ..errors import NotFound
from ..spool import Spool
from ..states import State
from . import access, dagsvg, views

REFRESH = 5
"""Seconds between reloads of a page that can change."""
PAGE_JOBS = 200
"""Jobs on the jobs page, newest first."""
LOG_TAIL = 8192
"""Bytes of a job's log its page shows."""

LAYOUT = bottle.SimpleTemplate("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
% if refresh:
<meta http-equiv="refresh" content="{{refresh}}">
% end
<title>{{title}} · Banyan</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 76rem; padding: 0 1rem 2rem; color: #222; }
nav { padding: .6rem 0; border-bottom: 1px solid #ccc; margin-bottom: 1rem; }
nav a { margin-right: 1.2rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { background: #f4f4f4; }
code, pre, td.id { font-family: ui-monospace, monospace; }
pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.good { color: #176b2c; } .error { color: #a1271f; }
.states a { margin-right: .6rem; }
.muted { color: #777; }
.dagbox { overflow-x: auto; }
</style></head>
<body><nav><a href="{{base or "/"}}">Jobs</a><a href="{{base}}/ui/nodes">Nodes</a><a href="{{base}}/docs">API</a></nav>
<h1>{{title}}</h1>
{{!body}}
</body></html>
""")

JOBS = bottle.SimpleTemplate("""<form method="get" action="{{base or "/"}}">
<label>State <select name="state">
<option value="">all</option>
% for s in states:
<option value="{{s}}"{{" selected" if s == state else ""}}>{{s}}</option>
% end
</select></label> <button type="submit">Show</button>
</form>
<p class="states"><a href="{{base or "/"}}">all</a>
% for s in states:
<a href="{{base or "/"}}?state={{s}}">{{s}}</a>
% end
</p>
% if not jobs:
<p class="muted" id="empty">No jobs{{" in state " + state if state else ""}}.</p>
% else:
<p class="muted">The newest {{len(jobs)}}{{" " + state if state else ""}} jobs; this page reloads every {{refresh}} s.</p>
<table id="jobs"><thead><tr><th>id</th><th>name</th><th>state</th><th>status</th><th>result</th><th>node</th><th>created</th></tr></thead>
<tbody>
% for j in jobs:
<tr><td class="id"><a href="{{base}}/ui/jobs/{{j["id"]}}">{{j["id"]}}</a></td><td>{{j["name"]}}</td>
<td>{{j["state"]}}</td><td class="{{j["status"]}}">{{j["status"]}}</td><td>{{j["result"] or ""}}</td>
<td>{{j["node"] or ""}}</td><td>{{j["created-at"] or ""}}</td></tr>
% end
</tbody></table>
% end
""")

JOB = bottle.SimpleTemplate("""<table id="facts">
% for key, value in facts:
<tr><th>{{key}}</th><td>{{value}}</td></tr>
% end
% if parent:
<tr><th>parent</th><td><a href="{{base}}/ui/jobs/{{parent}}">{{parent}}</a></td></tr>
% end
% if deps:
<tr><th>depends on</th><td>
% for d in deps:
<a href="{{base}}/ui/jobs/{{d}}">{{d}}</a>
% end
</td></tr>
% end
</table>
<p><a href="{{base}}/scheduler/jobs/{{id}}">record (JSON)</a> · <a href="{{base}}/scheduler/jobs/{{id}}/log">whole log</a>
% if node:
· <a href="{{base}}/scheduler/jobs/{{id}}/artifacts/output">output (tar.gz)</a>
% end
</p>
<h2>DAG</h2>
% if alone:
<p class="muted">No parent, children, dependencies or dependents.</p>
% else:
<p class="muted">Solid arrows: dependencies (the lower job waits); dashed: a parent and the jobs it submitted.{{" Cut at %d jobs each way." % limit if cut else ""}}</p>
<div class="dagbox">{{!svg}}</div>
% end
<h2>Log (last {{tail}} bytes)</h2>
<pre id="log">{{log}}</pre>
<h2>Events</h2>
<pre id="events">{{events}}</pre>
""")

NODES = bottle.SimpleTemplate("""% if not nodes:
<p class="muted" id="empty">No nodes. Start one with <code>banyan processor --scheduler URL</code>.</p>
% else:
<table id="nodes"><thead><tr><th>name</th><th>uri</th><th>state</th><th>running jobs</th><th>cores</th><th>memory</th><th>gpus</th><th>labels</th><th>last seen</th></tr></thead>
<tbody>
% for n in nodes:
<tr><td>{{n["name"]}}</td><td>{{n["uri"]}}</td><td>{{n["state"]}}</td><td>{{running.get(n["name"], 0)}}</td><td>{{n["cores"]}}</td>
<td>{{size(n["memory"])}}</td><td>{{n["gpus"]}}</td><td>{{", ".join(n["labels"])}}</td><td>{{n["last-seen"] or ""}}</td></tr>
% end
</tbody></table>
% end
""")


def page(title: str, body: str, base: str, refresh: int | None = None) -> str:
    bottle.response.content_type = "text/html; charset=utf-8"
    return LAYOUT.render(title=title, body=body, base=base, refresh=refresh)


def size(n: int | None) -> str:
    """Bytes as people read them: `1.5 GiB`."""
    if not n:
        return "0"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def newest(spool: Spool, state: str, only_owner: str | None) -> list[dict]:
    """Up to PAGE_JOBS job summaries, newest first, in `state` if given, of `only_owner` if given."""
    out = []
    for job_id in sorted(set(spool.jobs.ids()) | set(spool.incoming.ids()), reverse=True):
        if len(out) >= PAGE_JOBS:
            break
        if only_owner is not None and views.owner(spool, job_id) != only_owner:
            continue
        item = views.summary(spool, job_id)
        if item is not None and (not state or item["state"] == state):
            out.append(item)
    return out


def jobs(spool: Spool, state: str, base: str) -> str:
    states = [s.value for s in State]
    items = newest(spool, state, access.owner_filter())
    body = JOBS.render(jobs=items, states=states, state=state, base=base, refresh=REFRESH)
    return page(f"Jobs: {state}" if state else "Jobs", body, base, REFRESH)


def usage(spool: Spool, job_id: str, rec: dict) -> str:
    """`peak 12.0 MiB, CPU 0.31 s`: from the record once the job stopped, else from its node."""
    text = spool.jobs.get(job_id, "usage") if spool.jobs.exists(job_id) else None
    if not text and rec.get("node") and rec["state"] in ("running", "suspended"):
        from ..scheduler.nodeclient import NodeClient, NodeError
        try:
            found = NodeClient(spool.nodes.get(rec["node"])["uri"], timeout=2).statuses([job_id])
            text = next((r.get("usage") for r in found if r.get("id") == job_id), None)
        except (NotFound, NodeError):
            return "its node did not answer"
    parts = (text or "").split()
    if len(parts) != 2:
        return "not measured yet"
    try:
        return f"peak {size(int(parts[0]))} resident, CPU {float(parts[1]):.2f} s"
    except ValueError:
        return "not measured yet"


def log_tail(spool: Spool, job_id: str) -> str:
    from .jobs import log_chunk
    data, _ = log_chunk(spool, job_id, 0, LOG_TAIL)
    return data.decode("utf-8", errors="replace") if data else "(empty)"


def job(spool: Spool, job_id: str, base: str) -> str:
    rec = views.record(spool, job_id)
    keys = ("name", "state", "status", "result", "node", "exit-status", "attempts", "progress",
            "created-at", "started-at", "finished-at", "owner")
    facts = [(k, "" if rec.get(k) is None else rec[k]) for k in keys]
    facts.insert(8, ("usage", usage(spool, job_id, rec)))
    graph, cut = dagsvg.around(spool, job_id)
    body = JOB.render(
        facts=facts, id=job_id, base=base, parent=rec.get("parent"), deps=rec.get("depends-on") or [],
        node=rec.get("node"), alone=len(graph) == 1, svg=dagsvg.svg(graph, job_id, base), cut=cut,
        limit=dagsvg.MAX_JOBS, tail=LOG_TAIL, log=log_tail(spool, job_id),
        events="\n".join(rec.get("events") or []) or "(none yet)")
    stopped = rec["state"] == State.STOPPED.value
    return page(f"Job {job_id}", body, base, None if stopped else REFRESH)


def nodes(spool: Spool, base: str) -> str:
    running: dict[str, int] = {}
    for job_id in spool.index.running():
        node = spool.jobs.get(job_id, "node")
        if node:
            running[node] = running.get(node, 0) + 1
    body = NODES.render(nodes=spool.nodes.all(), running=running, size=size)
    return page("Nodes", body, base, REFRESH)
