"""The OpenAPI 3.0 document of the scheduler API: every route, field, answer and error.

Built in Python from the same constants the server checks with (id pattern, limits,
states), so the document and the code cannot disagree on them. `document(routes)`
describes only the routes the app really has; tests/test_openapi.py checks that every
bottle route has an entry in OPERATIONS, and runs schemathesis against `banyan serve`.
"""

from .. import defaults
from ..request import SIZE_PATTERN
from ..spool.ids import ID_RE
from ..states import Result, State, Status
from .modaclouds import ACTIONS
from .nodes import LABELS_PATTERN, URI_PATTERN

ID = {"type": "string", "pattern": ID_RE.pattern, "maxLength": 64, "example": "660ffdfd89b6041e3"}
NULL_ID = dict(ID, nullable=True)
TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}
"""Any text without a NUL byte (the server refuses NULs in every field)."""
TIME = {"type": "string", "nullable": True, "example": "2026-11-22T23:40:26.123Z",
        "description": "UTC ISO-8601 with milliseconds"}
SIZE_TEXT = {"type": "string", "pattern": SIZE_PATTERN, "example": "1 GiB",
             "description": "a size like `1 GiB`, `512M`, `2G` (K, M, G, T, P are powers of 1024)"}
SIZE = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 1 << 60}, SIZE_TEXT],
        "description": "bytes, or a size like `1 GiB`, `512M`, `2G` (K, M, G, T, P are powers of 1024)"}

ERRORS = {
    400: "bad request: a malformed body, a field of the wrong type or range, an invalid id",
    401: "no valid token, once any token exists (`Authorization: Bearer TOKEN`)",
    403: "the token's role does not allow it, or the job belongs to another token",
    404: "no such job, node, artifact or route",
    405: "the route exists, with other methods (see `Allow`)",
    409: "the job's state does not allow it",
    413: "the body is over its limit (1 MiB; 256 MiB with files)",
    503: "the scheduler is busy, or a node did not answer",
    507: "the state folder's disk is full: nothing was written",
}
COMMON = (400, 401, 403, 405)
"""Errors any route may answer: a bad id in the path, no token, a role that may not, a wrong method."""


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict, required: tuple = (), closed: bool = False, **extra) -> dict:
    out = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = list(required)
    if closed:
        out["additionalProperties"] = False
    return out


def nullable(schema: dict) -> dict:
    return dict(schema, nullable=True)


COMMAND = {"oneOf": [
    obj({"exec": {"type": "array", "minItems": 1, "items": dict(TEXT, maxLength=1 << 17)}},
        ("exec",), True, description="run without a shell"),
    obj({"shell": dict(TEXT, maxLength=1 << 17)}, ("shell",), True,
        description="run under `/bin/sh -c`"),
]}

JOB_REQUEST = obj({
    "name": {"type": "string", "maxLength": 256,
             "description": "one line of printable text; default: the program's name, `sh`, `group`"},
    "commands": {"type": "array", "items": COMMAND, "description": "run in order; the first that fails stops the job"},
    "environment": {"type": "object", "additionalProperties": dict(TEXT, maxLength=1 << 17),
                    "propertyNames": {"pattern": "^(?!BANYAN_)[A-Za-z_][A-Za-z0-9_]*$"},
                    "description": "the job's environment starts empty; BANYAN_* is reserved"},
    "depends_on": {"type": "array", "items": ID, "description": "ids of existing jobs"},
    "priority": {"type": "integer", "minimum": -defaults.MAX_PRIORITY, "maximum": defaults.MAX_PRIORITY},
    "timeout": {"type": "number", "minimum": 0.001, "maximum": 1e9, "nullable": True,
                "description": "seconds of running before it is killed (result `timeout`)"},
    "kill_grace": {"type": "number", "minimum": 0, "maximum": 86400,
                   "description": f"seconds between SIGTERM and SIGKILL (default {defaults.KILL_GRACE:g})"},
    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
    "resources": obj({"cores": {"type": "integer", "minimum": 0, "maximum": 4096},
                      "memory": SIZE,
                      "gpus": {"type": "integer", "minimum": 0, "maximum": 1024}}, closed=True),
    "node": dict(NULL_ID, description="a node name or label"),
    "notify": {"type": "string", "maxLength": 2048, "nullable": True, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
               "description": "http(s) URL POSTed once when the job stops; loopback, private and "
                              "link-local hosts are refused unless BANYAN_NOTIFY_ALLOW admits them"},
    "parent": dict(NULL_ID, description="the job that submits this one"),
    "request_id": dict(NULL_ID, description="the job's id; repeating it makes no second job"),
    "arguments": {"type": "array", "items": dict(TEXT, maxLength=1 << 17),
                  "description": "follow a bundle's run.sh (only with a bundle)"},
    "separate_stderr": {"type": "boolean", "description": "stderr to its own artifact"},
    "array": {"type": "string", "nullable": True, "example": "1-100%10",
              "description": f"Slurm's job-array syntax (`1-100%10`, `1,3,5-7`, `0-15:4`; at most "
                             f"{defaults.MAX_ARRAY} tasks): one job per index, BANYAN_ARRAY_INDEX set, "
                             "and the array's own id a group job that waits for them all"},
}, closed=True, description="SPEC §4; every field is optional. An empty object is a group job.")
JOB_GRAPH = obj({
    "jobs": {"type": "object", "minProperties": 1, "additionalProperties": ref("JobRequest"),
             "propertyNames": {"pattern": ID_RE.pattern},
             "description": "name → job request (without request_id or parent); depends_on may name "
                            "other jobs of the graph. Job ids are `<request_id>.<name>`."},
    "name": JOB_REQUEST["properties"]["name"],
    "parent": JOB_REQUEST["properties"]["parent"],
    "request_id": JOB_REQUEST["properties"]["request_id"],
}, ("jobs",), True, description=f"A whole graph in one request (at most {defaults.MAX_GRAPH} jobs): "
                                "all of it is submitted or none; its id is a group job over it.")

FORM_FIELDS = {
    "command": {"type": "array", "items": {"type": "string"},
                "description": "split like sh (quotes, backslashes) and run without a shell"},
    "name": JOB_REQUEST["properties"]["name"],
    "priority": JOB_REQUEST["properties"]["priority"],
    "timeout": {"type": "number", "minimum": 0.001, "maximum": 1e9},
    "node": ID, "request_id": ID, "parent": ID,
    "notify": {"type": "string", "maxLength": 2048},
    "arguments": {"type": "string", "description": "split like sh; follow the bundle's run.sh"},
    "separate_stderr": {"type": "string", "description": "`1`, `true`, `yes` or `on` for yes"},
    "array": {"type": "string", "description": "Slurm's job-array syntax, `1-100%10`"},
}
JOB_FORM = obj(FORM_FIELDS, closed=True)
BINARY = {"type": "string", "format": "binary"}
JOB_MULTIPART = obj(dict(FORM_FIELDS, bundle=dict(BINARY, description="tar.gz with run.sh at its top"),
                         input=dict(BINARY, description="tar.gz unpacked into the working directory"),
                         request={"type": "string", "description": "the rest of the request as JSON"}),
                    closed=True)

SUMMARY_PROPS = {
    "id": ID, "name": {"type": "string"},
    "state": {"type": "string", "enum": [s.value for s in State]},
    "status": {"type": "string", "enum": [s.value for s in Status]},
    "result": {"type": "string", "enum": [r.value for r in Result], "nullable": True},
    "node": {"type": "string", "nullable": True},
    "created-at": TIME,
}
STATUS_PROPS = dict(SUMMARY_PROPS, **{
    "exit-status": {"type": "integer", "nullable": True},
    "attempts": {"type": "integer", "nullable": True},
    "started-at": TIME, "finished-at": TIME,
    "progress": {"type": "string", "nullable": True, "example": "40 copying inputs"},
})
RECORD_PROPS = dict(STATUS_PROPS, **{
    "owner": {"type": "string", "nullable": True, "description": "the name of the token that submitted it"},
    "parent": {"type": "string", "nullable": True},
    "depends-on": {"type": "array", "items": {"type": "string"}},
    "request": {"type": "object", "description": "the normalised request"},
    "events": {"type": "array", "items": {"type": "string"}, "description": "`<time> <event> <detail>`"},
})
NODE = obj({
    "name": ID, "uri": {"type": "string"},
    "state": {"type": "string", "enum": ["up", "down", "draining"]},
    "cores": {"type": "integer"}, "memory": {"type": "integer"}, "gpus": {"type": "integer"},
    "labels": {"type": "array", "items": {"type": "string"}},
    "last-seen": TIME,
}, ("name", "uri", "state", "cores", "memory", "gpus", "labels"))
NODE_REGISTRATION = obj({
    "name": ID,
    "uri": {"type": "string", "pattern": URI_PATTERN, "example": "http://10.0.0.2:8081"},
    "cores": {"type": "integer", "minimum": 0, "maximum": 1 << 20},
    "memory": SIZE,
    "gpus": {"type": "integer", "minimum": 0, "maximum": 1 << 20},
    "labels": {"oneOf": [{"type": "array", "items": ID},
                         {"type": "string", "pattern": LABELS_PATTERN, "description": "comma-separated"}]},
}, ("name", "uri"), True)
MODACLOUDS_FORM = obj({
    "job-name": {"type": "string"}, "job-notification": {"type": "string"},
    "job-arguments": {"type": "string", "description": "split like sh"},
    "job-bundle": dict(BINARY, description="tar.gz with run.sh at its top (required)"),
    "job-input": BINARY,
}, ("job-bundle",), True)
MODACLOUDS_JOB = obj({
    "id": ID, "job_name": {"type": "string"},
    "job_status": {"type": "string", "enum": ["idle", "running", "held", "completed", "removed",
                                              "submission_error"]},
    "backend_job_status": {"type": "string"}, "previous_job_status": {"type": "string", "nullable": True},
    "exit_status": {"type": "integer", "nullable": True}, "exit_by_signal": {"type": "boolean"},
    "job_run_count": {"type": "integer"},
    "job_start_date": {"type": "string", "nullable": True, "example": "Wed, 03 Sep 2014 15:32:56 -0000"},
    "job_current_start_date": {"type": "string", "nullable": True},
    "job_completion_date": {"type": "integer", "description": "epoch seconds; 0 until it stops"},
    "reason": {"type": "string", "description": "why a submission was refused (submission_error)"},
}, ("id", "job_status"))
STATS = obj({
    "by_state": {"type": "object", "additionalProperties": {"type": "integer"}},
    "by_node": {"type": "object", "additionalProperties": obj({
        "state": {"type": "string"}, "cores": {"type": "integer"}, "cores_free": {"type": "integer"},
        "memory_free": {"type": "integer"}, "running": {"type": "integer"}})},
    "jobs_per_second": {"type": "number", "description": "jobs that stopped in the last minute, per second"},
    "queue_wait": obj({"p50": {"type": "number", "nullable": True},
                       "p95": {"type": "number", "nullable": True},
                       "samples": {"type": "integer"}}),
}, ("by_state", "by_node", "jobs_per_second", "queue_wait"))
DAG_JOB_PROPS = {"id": ID, "state": {"type": "string", "nullable": True, "description": "null: no such job"},
                 "status": {"type": "string", "nullable": True}, "name": {"type": "string"},
                 "parent": {"type": "string", "nullable": True},
                 "depends_on": {"type": "array", "items": {"type": "string"}}}
DAG_JOB = obj(DAG_JOB_PROPS, ("id", "state", "status"))
DAG = obj({**DAG_JOB_PROPS, "truncated": {"type": "boolean", "description": "a walk was cut at its limit"},
           **{k: {"type": "array", "items": ref("DagJob"), "description": "nearest first"}
              for k in ("parents", "children", "dependencies", "dependents")}},
          ("id", "parents", "children", "dependencies", "dependents"))

SCHEMAS = {
    "Error": obj({"error": {"type": "string"}}, ("error",), True),
    "JobRequest": JOB_REQUEST, "JobGraph": JOB_GRAPH, "JobForm": JOB_FORM, "JobMultipart": JOB_MULTIPART,
    "Submitted": obj({"request_id": ID, "jobs": {
        "type": "object", "additionalProperties": ID,
        "description": "for a graph or an array: each name or index → the id of its job"}}, ("request_id",)),
    "JobSummary": obj(SUMMARY_PROPS, tuple(SUMMARY_PROPS)),
    "JobList": obj({"jobs": {"type": "array", "items": ref("JobSummary")}}, ("jobs",)),
    "JobStatus": obj(STATUS_PROPS, tuple(STATUS_PROPS)),
    "JobRecord": obj(RECORD_PROPS, ("id", "name", "state", "status", "result", "node", "created-at",
                                    "events", "request")),
    "Node": NODE,
    "NodeList": obj({"nodes": {"type": "array", "items": ref("Node")}}, ("nodes",)),
    "NodeRegistration": NODE_REGISTRATION,
    "Stats": STATS,
    "DagJob": DAG_JOB, "Dag": DAG,
    "ModacloudsForm": MODACLOUDS_FORM, "ModacloudsJob": MODACLOUDS_JOB,
}


# --- operations ----------------------------------------------------------------------

def path_param(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


JOB_ID = path_param("job_id", ID, "a job id")
NODE_NAME = path_param("name", ID, "a node name")
FORMAT = query("format", {"type": "string"}, "`text` for text/plain: one line per item, or `key value` lines")
LISTING = [query("state", {"type": "string"}, "only jobs in this state"),
           query("node", {"type": "string"}, "only jobs placed on this node"),
           query("name", {"type": "string"}, "only jobs of this name"),
           query("limit", {"type": "integer", "minimum": 0, "maximum": defaults.LIST_LIMIT_MAX},
                 f"at most this many (default {defaults.LIST_LIMIT})"),
           query("after", ID, "only jobs whose ids sort after this one")]


def json_or_text(schema: str, description: str) -> dict:
    return {"description": description, "content": {
        "application/json": {"schema": ref(schema)},
        "text/plain": {"schema": {"type": "string"}}}}


def json_answer(schema, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": ref(schema) if isinstance(schema, str) else schema}}}


def op(summary: str, answers: dict, errors: tuple = (), params: list | None = None,
       body: dict | None = None, tags: tuple = ("jobs",), description: str = "") -> dict:
    """One operation: its answers, then the errors it may give beside the COMMON ones."""
    responses = {str(code): value for code, value in answers.items()}
    for code in sorted(set(COMMON) | set(errors)):
        responses[str(code)] = json_answer("Error", ERRORS[code])
    out = {"summary": summary, "tags": list(tags), "responses": responses}
    if description:
        out["description"] = description
    if params:
        out["parameters"] = params
    if body:
        out["requestBody"] = body
    return out


RECORD_ANSWER = {200: json_or_text("JobRecord", "the job's whole record")}
HTML = {"text/html": {"schema": {"type": "string"}}}
SUBMITTED = {
    201: {"description": "stored durably (fsynced); the job's status is readable at once",
          "headers": {"Location": {"schema": {"type": "string"}, "description": "/scheduler/jobs/ID"}},
          "content": {"application/json": {"schema": ref("Submitted")}}},
    200: json_answer("Submitted", "a repeated request_id: the same job, no second one"),
}

OPERATIONS: dict[tuple[str, str], dict] = {
    ("POST", "/scheduler/jobs/new"): op(
        "Submit a job", SUBMITTED, (409, 413, 507), body={"required": True, "content": {
            "application/json": {"schema": {"oneOf": [ref("JobRequest"), ref("JobGraph")]}},
            "application/x-www-form-urlencoded": {"schema": ref("JobForm")},
            "multipart/form-data": {"schema": ref("JobMultipart")}}},
        description="JSON (SPEC §4), a form (`command=echo \"a b\"`), or multipart with `bundle` and "
                    "`input` archives. 400 also for a well-formed request that names a job that does "
                    "not exist (`depends_on`, `parent`), a `notify` host that is refused, a command "
                    "that cannot be split, or an archive that is not a safe tar.gz. 409: a submission "
                    "with the same request_id is being written now."),
    ("GET", "/scheduler/jobs"): op(
        "List jobs, in id order", {200: json_or_text("JobList", "jobs, filtered and paged")},
        params=LISTING + [FORMAT]),
    ("GET", "/scheduler/jobs/{job_id}"): op(
        "A job's whole record", RECORD_ANSWER, (404,), [JOB_ID, FORMAT]),
    ("GET", "/scheduler/jobs/{job_id}/status"): op(
        "A job's status", {200: json_or_text("JobStatus", "state, status, result and times")},
        (404,), [JOB_ID, FORMAT]),
    ("POST", "/scheduler/jobs/{job_id}/update"): op(
        "Ask the job's node now and refresh the record", RECORD_ANSWER, (404, 503), [JOB_ID, FORMAT]),
    ("POST", "/scheduler/jobs/{job_id}/kill"): op(
        "Kill a running job, or cancel a pending one", RECORD_ANSWER, (404, 409, 503), [JOB_ID, FORMAT],
        description="A job still in incoming/ is first waited for (up to 10 s) to be taken in by the "
                    "scheduler; 503 if no scheduler took it."),
    ("POST", "/scheduler/jobs/{job_id}/{action}"): op(
        "Hold, release, suspend or continue a job (HTCondor's verbs)", RECORD_ANSWER, (404, 409, 503),
        [JOB_ID, path_param("action", {"type": "string", "enum": ["hold", "release", "suspend", "continue"]}),
         FORMAT]),
    ("GET", "/scheduler/jobs/{job_id}/log"): op(
        "The job's log (stdout and stderr in order)", {200: {
            "description": "the bytes after `offset`", "content": {"text/plain": {"schema": {"type": "string"}}},
            "headers": {"X-Banyan-Offset": {"schema": {"type": "integer"},
                                            "description": "the offset after the bytes sent"}}}},
        (404,), [JOB_ID, query("offset", {"type": "integer", "minimum": 0, "maximum": 1 << 62},
                               "start after this many bytes"),
                 query("tail", {"type": "integer", "minimum": 0, "maximum": defaults.LOG_CHUNK},
                       "only the last bytes, at most this many"),
                 query("follow", {"type": "string"}, "`1`: stream until the job stops")]),
    ("GET", "/scheduler/jobs/{job_id}/artifacts/{name}"): op(
        "An artifact, streamed from the job's node", {200: {
            "description": "stdout, stderr: text; output: a tar.gz of the job's out/ folder",
            "content": {"application/octet-stream": {"schema": BINARY}, "text/plain": {"schema": BINARY},
                        "application/gzip": {"schema": BINARY}}}},
        (404, 503), [JOB_ID, path_param("name", {"type": "string", "enum": ["stdout", "stderr", "output"]})]),
    ("GET", "/scheduler/jobs/{job_id}/files/{name}"): op(
        "A job's archive, for its node (node tokens)", {200: {
            "description": "the archive as submitted", "content": {"application/gzip": {"schema": BINARY}}}},
        (404,), [JOB_ID, path_param("name", {"type": "string", "enum": ["bundle", "input"]})]),
    ("GET", "/scheduler/jobs/{job_id}/dag"): op(
        "The job's parents, children, dependencies and dependents, now", {200: json_answer("Dag", "the walk")},
        (404,), [JOB_ID, query("depth", {"type": "integer", "minimum": 0, "maximum": 999999},
                               "stop this many steps out")]),
    ("GET", "/scheduler/nodes"): op(
        "List nodes", {200: json_or_text("NodeList", "every registered node")}, params=[FORMAT],
        tags=("nodes",)),
    ("GET", "/scheduler/nodes/available"): op(
        "Nodes that can take a job now", {200: json_or_text("NodeList", "up nodes with that much free")},
        params=[query("cores", {"type": "integer", "minimum": 0, "maximum": 1 << 20}, "free cores (default 1)"),
                query("memory", SIZE_TEXT, "free memory (default 0)"), FORMAT], tags=("nodes",)),
    ("POST", "/scheduler/nodes"): op(
        "Register a node (or refresh it: a heartbeat)", {
            201: json_answer("Node", "a new node"), 200: json_answer("Node", "a known node, updated")},
        (413, 507), body={"required": True, "content": {"application/json": {"schema": ref("NodeRegistration")}}},
        tags=("nodes",)),
    ("GET", "/scheduler/nodes/{name}"): op(
        "One node", {200: json_answer("Node", "the node")}, (404,),
        [path_param("name", dict(ID, pattern="^(?!available$)" + ID["pattern"][1:]), "a node name")],
        tags=("nodes",)),
    ("DELETE", "/scheduler/nodes/{name}"): op(
        "Unregister a node; its running jobs are killed and queued again",
        {200: json_answer(obj({"removed": ID}, ("removed",)), "the node is gone")}, (404, 503), [NODE_NAME],
        tags=("nodes",)),
    ("POST", "/scheduler/nodes/{name}/drain"): op(
        "Drain a node: nothing new goes there", {200: json_answer("Node", "the node, state draining")},
        (404,), [NODE_NAME], tags=("nodes",)),
    ("POST", "/scheduler/nodes/{name}/report"): op(
        "A node reports its jobs' ends (node tokens)",
        {200: json_answer(obj({"accepted": {"type": "integer"}}, ("accepted",)), "stored for the next pass")},
        (404, 413, 507), [NODE_NAME], body={"required": True, "content": {"application/json": {"schema": obj(
            {"jobs": {"type": "array", "items": {"type": "object", "description": "a job's record on the node"}}},
            ("jobs",))}}}, tags=("nodes",)),
    ("GET", "/scheduler/stats"): op(
        "Jobs by state and node, throughput, queue wait", {200: json_answer("Stats", "statistics")},
        tags=("nodes",)),
    ("POST", "/jobs"): op(
        "MODAClouds: submit a bundle", {200: {
            "description": "stored; the ids are Banyan's", "headers": {"Location": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": obj({"job_id": ID, "backend_id": ID},
                                                           ("job_id", "backend_id"))}}}},
        (413, 507), body={"required": True, "content": {"multipart/form-data": {"schema": ref("ModacloudsForm")},
                                                        "application/x-www-form-urlencoded": {
                                                            "schema": ref("ModacloudsForm")}}},
        tags=("modaclouds",)),
    ("GET", "/jobs"): op(
        "MODAClouds: list jobs", {200: json_answer({"type": "array", "items": obj({
            "id": ID, "job_status": {"type": "string"}, "job_name": {"type": "string"}},
            ("id", "job_status", "job_name"))}, "jobs")},
        params=[p for p in LISTING if p["name"] in ("state", "limit", "after")], tags=("modaclouds",)),
    ("GET", "/jobs/{job_id}"): op(
        "MODAClouds: one job", {200: json_answer("ModacloudsJob", "the job in HTCondor's words")}, (404,),
        [JOB_ID], tags=("modaclouds",)),
    ("GET", "/jobs/{job_id}/artifacts/{artifact}"): op(
        "MODAClouds: an artifact", {200: {"description": "as /scheduler/jobs/ID/artifacts/NAME", "content": {
            "application/octet-stream": {"schema": BINARY}, "text/plain": {"schema": BINARY},
            "application/gzip": {"schema": BINARY}}}},
        (404, 503), [JOB_ID, path_param("artifact", {"type": "string", "enum": ["stdout", "stderr", "output"]})],
        tags=("modaclouds",)),
    ("GET", "/openapi.json"): op(
        "This document", {200: json_answer({"type": "object"}, "OpenAPI 3.0")}, tags=("about",)),
    ("GET", "/docs"): op(
        "This document as a web page", {200: {"description": "self-contained HTML", "content": HTML}},
        tags=("about",)),
    ("GET", "/"): op(
        "Web page: the jobs", {200: {"description": "HTML, refreshing itself", "content": HTML}},
        params=[query("state", {"type": "string"}, "only jobs in this state")], tags=("pages",)),
    ("GET", "/ui/jobs/{job_id}"): op(
        "Web page: one job, with its events, usage, log tail and DAG", {200: {"description": "HTML",
                                                                           "content": HTML}},
        (404,), [JOB_ID], tags=("pages",)),
    ("GET", "/ui/nodes"): op(
        "Web page: the nodes", {200: {"description": "HTML", "content": HTML}}, tags=("pages",)),
}
for _method in ("GET", "PUT", "POST"):
    OPERATIONS[(_method, "/jobs/{job_id}/{action}")] = op(
        "MODAClouds: remove (kill), hold, release, suspend or continue",
        {200: json_answer(obj({"result": {"type": "array", "items": {"type": "string"}}}, ("result",)),
                          "[ID, ACTION]")},
        (404, 409, 503), [JOB_ID, path_param("action", {"type": "string", "enum": list(ACTIONS)},
                                             "remove is kill; any other word is 400")],
        tags=("modaclouds",))


def openapi_path(rule: str) -> str:
    """A bottle rule as an OpenAPI path: `/jobs/<job_id>/<action:re:a|b>` → `/jobs/{job_id}/{action}`."""
    out = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            part = "{" + part[1:-1].split(":", 1)[0] + "}"
        out.append(part)
    return "/".join(out)


def document(routes: set[tuple[str, str]], base: str = "") -> dict:
    """The document for an app whose routes are `routes` ((method, bottle rule) pairs)."""
    paths: dict[str, dict] = {}
    for method, rule in sorted(routes, key=lambda r: (openapi_path(r[1]), r[0])):
        path = openapi_path(rule)
        paths.setdefault(path, {})[method.lower()] = OPERATIONS[(method, path)]
    return {
        "openapi": "3.0.3",
        "info": {"title": "Banyan scheduler API", "version": "1",
                 "description": "A job scheduler whose whole state is a folder of small files. Every error "
                                "is one line of JSON, `{\"error\": \"...\"}`. Add `?format=text` to a GET "
                                "that answers JSON for one line per item."},
        "servers": [{"url": base or "/"}],
        "security": [{"bearer": []}, {"basic": []}, {}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "a token from `banyan token create`; needed once any token exists"},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "the token as user name, an empty password"}},
        },
    }
