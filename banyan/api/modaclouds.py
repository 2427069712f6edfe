"""The MODAClouds batch engine's API (ieat/modaclouds-batch-engine), served from Banyan's jobs.

Users of that engine have scripts built on its README's curl examples; these routes
keep them working: `POST /jobs` with `job-name`, `job-bundle`, `job-input`,
`job-notification`, `job-arguments` (multipart, or urlencoded with the archive as a
field value: `curl --data-urlencode 'job-bundle@b.tar.gz'`), `GET /jobs`,
`GET /jobs/<id>`, `/jobs/<id>/<action>` and `/jobs/<id>/artifacts/<artifact>`. The id
is the Banyan id. Statuses are HTCondor's words, as that engine answered them.
"""

import email.utils
import json
import shlex
import time

import bottle

from .. import defaults, timefmt
from ..errors import BadRequest, NotFound
from ..spool import Spool
from . import access, artifacts, jobs, views
from .jobs import wait_intake

FIELDS = {"job-name", "job-notification", "job-arguments"}
FILES = {"job-bundle": "bundle", "job-input": "input"}
REMOVED = {"cancelled", "killed", "timeout", "lost"}
ACTIONS = ("remove", "hold", "release", "suspend", "continue")


def job_status(state: str | None, result: str | None) -> str:
    """Banyan's state and result in HTCondor's words (idle, running, held, completed, removed)."""
    if state == "stopped":
        return "removed" if result in REMOVED else "completed"
    if state in ("running", "suspended"):
        return "running"
    if state == "held":
        return "held"
    return "idle"


def install(app: bottle.Bottle, spool: Spool) -> None:
    actions = jobs.LazyActions(spool)

    @app.post("/jobs")
    def new_job():
        from . import submit, uploads  # here: a CGI process that only reads never loads them

        with submit.staging(spool) as stage:
            form = uploads.read(bottle.request.environ, stage, set(FILES), defaults.MAX_BUNDLE)
            unknown = sorted(set(form.fields) - FIELDS)
            if unknown:
                raise BadRequest(f"unknown field {unknown[0]!r}")
            if "job-bundle" not in form.files:
                raise BadRequest("job-bundle is required: a tar.gz with run.sh at its top")
            data: dict = {}
            if form.fields.get("job-name", [""])[-1]:
                data["name"] = form.fields["job-name"][-1]
            if form.fields.get("job-notification", [""])[-1]:
                data["notify"] = form.fields["job-notification"][-1]
            try:
                data["arguments"] = [a for v in form.fields.get("job-arguments", []) for a in shlex.split(v)]
            except ValueError as err:
                raise BadRequest(f"cannot split job-arguments: {err}") from None
            files = {FILES[k]: path for k, path in form.files.items()}
            job_id, _ = submit.submit(spool, data, stage, files, access.submitter())
        bottle.response.set_header("Location", f"/jobs/{job_id}")
        return {"job_id": job_id, "backend_id": job_id}

    @app.get("/jobs")
    def list_jobs():
        items = views.listing(spool, bottle.request.query, access.owner_filter())
        bottle.response.content_type = "application/json"
        return json.dumps([{"id": j["id"], "job_status": job_status(j["state"], j["result"]),
                            "job_name": j["name"]} for j in items]) + "\n"

    @app.get("/jobs/<job_id>")
    def job_info(job_id):
        try:
            rec = views.record(spool, job_id)
        except NotFound:
            reason = spool.incoming.rejected_reason(job_id)
            if reason is None:
                raise
            return {"id": job_id, "job_status": "submission_error", "reason": reason}
        return info(spool, rec)

    @app.route("/jobs/<job_id>/<action>", method=["GET", "PUT", "POST"])
    def control(job_id, action):
        if action not in ACTIONS:
            raise BadRequest(f"action {action!r} is not known: use one of {', '.join(ACTIONS)}")
        views.record(spool, job_id)
        if not spool.jobs.exists(job_id):
            wait_intake(spool, job_id)
        now = time.time()
        if action == "remove":
            actions.kill(job_id, now)
        elif action in ("hold", "release"):
            getattr(actions, action)(job_id, now)
        else:
            actions.signal(job_id, action, now)
        return {"result": [job_id, action]}

    @app.get("/jobs/<job_id>/artifacts/<artifact>")
    def artifact(job_id, artifact):
        return artifacts.stream(spool, job_id, artifact)


def info(spool: Spool, rec: dict) -> dict:
    """One job as MODAClouds' `GET /jobs/<id>` showed it, with correct dates, plus Banyan's own fields."""
    job_id = rec["id"]
    status = job_status(rec["state"], rec["result"])
    usage = (spool.jobs.get(job_id, "usage") or "").split() if spool.jobs.exists(job_id) else []
    runs = [line.split(" ", 1)[0] for line in rec.get("events", []) if line.split(" ", 2)[1:2] == ["running"]]
    finished = timefmt.parse(rec.get("finished-at"))
    signal = spool.jobs.get(job_id, "signal") if spool.jobs.exists(job_id) else None
    return {
        "id": job_id, "job_name": rec.get("name", ""), "job_status": status, "backend_job_status": status,
        "previous_job_status": _previous(rec.get("events", []), status),
        "exit_status": rec.get("exit-status"), "exit_by_signal": bool(signal),
        "job_run_count": rec.get("attempts") or 0,
        "job_start_date": _rfc822(runs[0] if runs else None),
        "job_current_start_date": _rfc822(rec.get("started-at")),
        "job_completion_date": int(finished) if finished else 0,
        "job_priority": rec.get("request", {}).get("priority", 0),
        "image_size": int(usage[0]) // 1024 if usage else 0,
        "local_user_cpu": float(usage[1]) if len(usage) > 1 else 0.0,
        "job_universe": "vanilla", "cluster_id": job_id, "proc_id": 0,
        "global_job_id": f"{rec.get('node') or 'banyan'}#{job_id}",
        "state": rec["state"], "status": rec["status"], "result": rec["result"], "node": rec.get("node"),
    }


EVENT_STATUS = {"submitted": "idle", "queued": "idle", "retry": "idle", "refused": "idle",
                "released": "idle", "starting": "idle", "held": "held", "running": "running",
                "continued": "running", "suspended": "running", "success": "completed",
                "failure": "completed", "cancelled": "removed", "killed": "removed",
                "timeout": "removed", "lost": "removed"}


def _previous(lines: list[str], current: str) -> str | None:
    """The status before the current one, read from the job's events."""
    seen: list[str] = []
    for line in lines:
        status = EVENT_STATUS.get(line.split(" ", 2)[1] if " " in line else "")
        if status and (not seen or seen[-1] != status):
            seen.append(status)
    while seen and seen[-1] == current:
        seen.pop()
    return seen[-1] if seen else None


def _rfc822(iso: str | None) -> str | None:
    """`Wed, 03 Sep 2014 15:32:56 -0000`, the date format of MODAClouds' answers."""
    t = timefmt.parse(iso)
    return email.utils.formatdate(t) if t else None
