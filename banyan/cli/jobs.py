"""Job commands: submit, status, list, log, kill, hold, release, suspend, continue, artifact."""

import argparse
import json
import os
import sys
import tempfile
import time

from ..states import State
from . import show
from .client import (
    JOB_ERROR,
    OK,
    Backoff,
    Client,
    Multipart,
    CliError,
    Refused,
    Usage,
    id_arg,
    quote,
)

LIST_COLUMNS = [("id", "ID"), ("name", "NAME"), ("state", "STATE"), ("status", "STATUS"),
                ("result", "RESULT"), ("node", "NODE"), ("created-at", "CREATED")]
STATUS_KEYS = ["id", "name", "state", "status", "result", "node", "exit-status", "attempts",
               "created-at", "started-at", "finished-at", "progress"]
RECORD_KEYS = STATUS_KEYS + ["parent", "depends-on"]
CONTROLS = {
    "kill": "kill a running job, or cancel one that has not started",
    "hold": "keep a queued or waiting job from being placed",
    "release": "let a held job be placed again",
    "suspend": "stop a running job (SIGSTOP to its process tree)",
    "continue": "resume a suspended job (SIGCONT)",
}
FOLLOW_RETRY = 0.5
"""Seconds between attempts to follow a log again after its stream ended early."""


def client(args) -> Client:
    return Client(args.url, args.token)


def job_path(job_id: str, *rest: str) -> str:
    return "/".join(["/scheduler/jobs", quote(job_id), *rest])


def add(sub, common) -> None:
    json_opt = argparse.ArgumentParser(add_help=False)
    json_opt.add_argument("--json", action="store_true", help="print the API's JSON answer")

    p = sub.add_parser("submit", parents=[common, json_opt], help="submit a job; prints its id",
                       description="Submit a job and print its id. Everything after -- is the "
                       "command. With no command (and no -f), the job is a group: it stops good "
                       "once its dependencies have. Inside a job, the job becomes the parent.",
                       epilog="examples:\n  banyan submit -- echo hi\n"
                       "  banyan submit --shell --name nightly -- 'make report | gzip > r.gz'\n"
                       "  banyan submit --wait --cores 4 --memory 2G --depends-on ID -- ./run.sh",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-f", "--file", metavar="FILE",
                   help="JSON job request (SPEC §4) to start from; - reads stdin")
    p.add_argument("--name")
    p.add_argument("--priority", type=int, help="-1000 to 1000, higher first")
    p.add_argument("--depends-on", metavar="ID", action="append", default=[],
                   help="run only after job ID stopped good (repeatable, or ID,ID)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="kill it after this long")
    p.add_argument("--kill-grace", type=float, metavar="SECONDS",
                   help="between SIGTERM and SIGKILL (default 10)")
    p.add_argument("--max-attempts", type=int, metavar="N", help="placements, retries included")
    p.add_argument("--cores", type=int)
    p.add_argument("--memory", metavar="SIZE", help="bytes, or a size like 512M, 2G, '1 GiB'")
    p.add_argument("--gpus", type=int)
    p.add_argument("--node", metavar="NAME", help="a node name or label to run on")
    p.add_argument("--env", metavar="K=V", action="append", default=[],
                   help="an environment variable for the job (repeatable)")
    p.add_argument("--notify", metavar="URL", help="POSTed JSON when the job stops")
    p.add_argument("--bundle", metavar="TAR_GZ",
                   help="a tar.gz with run.sh at its top; CMD ARGS become run.sh's arguments")
    p.add_argument("--input", metavar="TAR_GZ", help="a tar.gz unpacked into the job's work folder")
    p.add_argument("--array", metavar="SPEC",
                   help="one task per index, Slurm's syntax: 1-100%%10 (at most 10 at once), 1,3,5-7")
    p.add_argument("--dag", metavar="FILE",
                   help='a whole graph in one request: {"jobs": {"name": {...}, ...}}; prints the '
                        "group id, then one `name id` line per job")
    p.add_argument("--request-id", metavar="ID", type=id_arg("request id"),
                   help="your id for the job: submitting it again makes no second job")
    p.add_argument("--shell", action="store_true",
                   help="CMD is one shell string, run by /bin/sh -c")
    p.add_argument("--wait", action="store_true",
                   help="show progress on stderr until it stops; exit 0 if good, 1 if not")
    p.add_argument("command", nargs="*", metavar="CMD ARGS",
                   help="the command; put -- before it when it has options of its own")
    p.set_defaults(func=submit)

    p = sub.add_parser("status", parents=[common, json_opt], help="a job's state, status, result",
                       epilog="example: banyan status 660ffdfd89b6041e3")
    p.add_argument("id", metavar="ID", type=id_arg())
    p.add_argument("-a", "--all", action="store_true",
                   help="the whole record: request, parent, dependencies and events")
    p.set_defaults(func=status)

    # Here --state is the job state to list (the API's ?state=); it takes the place of the
    # global --state DIR (still accepted before the command), no use to an HTTP client.
    from .main import global_options
    http_only = argparse.ArgumentParser(add_help=False)
    global_options(http_only, defaults=False, state=False)
    p = sub.add_parser("list", parents=[http_only, json_opt], help="jobs, as a table",
                       epilog="example: banyan list --state running --limit 20")
    p.add_argument("--state", dest="job_state", choices=[s.value for s in State],
                   help="only jobs in this state")
    p.add_argument("--node", metavar="NAME")
    p.add_argument("--name")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--after", metavar="ID", type=id_arg(), help="only jobs whose ids sort after ID")
    p.set_defaults(func=list_jobs)

    p = sub.add_parser("log", parents=[common], help="a job's output (stdout and stderr)",
                       epilog="example: banyan log -f 660ffdfd89b6041e3")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the job stops")
    p.add_argument("id", metavar="ID", type=id_arg())
    p.set_defaults(func=log)

    for action, what in CONTROLS.items():
        p = sub.add_parser(action, parents=[common, json_opt], help=what,
                           epilog=f"example: banyan {action} 660ffdfd89b6041e3")
        p.add_argument("ids", metavar="ID", nargs="+", type=id_arg())
        p.set_defaults(func=control, action=action)

    p = sub.add_parser("artifact", parents=[common], help="download stdout, stderr or output",
                       epilog="example: banyan artifact 660ffdfd89b6041e3 output -o out.tar.gz")
    p.add_argument("id", metavar="ID", type=id_arg())
    p.add_argument("name", metavar="NAME", type=id_arg("artifact name"),
                   help="stdout, stderr, or output (tar.gz of the job's out/ folder)")
    p.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")
    p.set_defaults(func=artifact)


# -- submit --------------------------------------------------------------------


def read_request_file(path: str) -> dict:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise Usage(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise Usage(f"{path} is not JSON: {err}") from None
    if not isinstance(data, dict):
        raise Usage(f"{path} must hold a JSON object (a job request)")
    return data


def build_request(args, environ=os.environ) -> dict:
    """The JSON request for `submit`: the -f file, then each option given on top of it."""
    request = read_request_file(args.file) if args.file else {}
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if getattr(args, "bundle", None):
        if args.shell:
            raise Usage("--shell and --bundle do not mix: the bundle's run.sh is the command")
        if command:
            request["arguments"] = command
    elif command:
        if args.shell:
            request["commands"] = [{"shell": " ".join(command)}]
        else:
            request["commands"] = [{"exec": command}]
    elif args.shell:
        raise Usage("--shell needs a command after --")
    for opt, field in (("array", "array"), ("name", "name"), ("priority", "priority"), ("timeout", "timeout"),
                       ("kill_grace", "kill_grace"), ("max_attempts", "max_attempts"),
                       ("node", "node"), ("notify", "notify"), ("request_id", "request_id")):
        value = getattr(args, opt)
        if value is not None:
            request[field] = value
    deps = [d for item in args.depends_on for d in item.split(",") if d]
    if deps:
        request["depends_on"] = list(request.get("depends_on") or []) + deps
    resources = {k: getattr(args, k) for k in ("cores", "memory", "gpus")
                 if getattr(args, k) is not None}
    if resources:
        if not isinstance(request.get("resources", {}), dict):
            raise Usage("resources in the request file must be an object")
        request["resources"] = dict(request.get("resources") or {}, **resources)
    if args.env:
        env = request.get("environment") or {}
        if not isinstance(env, dict):
            raise Usage("environment in the request file must be an object")
        for item in args.env:
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise Usage(f"--env wants NAME=VALUE, not {item!r}")
            env[key] = value
        request["environment"] = env
    parent = environ.get("BANYAN_JOB_ID")
    if parent and "parent" not in request:
        request["parent"] = parent
    return request


def submit(args) -> int:
    api = client(args)
    if args.dag:
        return submit_dag(api, args)
    request = build_request(args)
    files = {k: getattr(args, k) for k in ("bundle", "input") if getattr(args, k)}
    if files:
        for path in files.values():
            if not os.path.isfile(path):
                raise Usage(f"no such file: {path}")
        form = Multipart({"request": json.dumps(request)}, files)
        answer = api.json("POST", "/scheduler/jobs/new", form=form)
    else:
        answer = api.json("POST", "/scheduler/jobs/new", body=request)
    job_id = answer.get("request_id")
    if not isinstance(job_id, str):
        raise CliError(f"the server answered no job id: {answer}")
    print(show.to_json(answer) if args.json else job_id, flush=True)
    if not args.wait:
        return OK
    final = wait(api, job_id)
    return OK if final.get("status") == "good" else JOB_ERROR


def submit_dag(api: Client, args) -> int:
    """`--dag FILE`: the graph as written, with `--request-id` if given."""
    graph = read_request_file(args.dag)
    if not isinstance(graph.get("jobs"), dict):
        raise Usage(f"{args.dag}: a graph is {{\"jobs\": {{\"name\": {{...}}, ...}}}}")
    if args.command or args.bundle or args.input:
        raise Usage("--dag takes the whole graph from its file: no command, bundle or input")
    if args.request_id:
        graph["request_id"] = args.request_id
    answer = api.json("POST", "/scheduler/jobs/new", body=graph)
    gid = answer.get("request_id")
    if args.json:
        print(show.to_json(answer), flush=True)
    else:
        print(gid)
        for name, job_id in (answer.get("jobs") or {}).items():
            print(f"{name} {job_id}")
    if not args.wait:
        return OK
    return OK if wait(api, gid).get("status") == "good" else JOB_ERROR


def wait(api: Client, job_id: str, out=None) -> dict:
    """Poll the job's status until it stops, writing each change to `out` (stderr)."""
    out = out or sys.stderr
    backoff = Backoff()
    previous = None
    while True:
        now = api.json("GET", job_path(job_id, "status"))
        for line in show.change(previous, now):
            print(line, file=out, flush=True)
        if now.get("state") == State.STOPPED.value:
            return now
        previous = now
        backoff.sleep()


# -- looking at jobs -----------------------------------------------------------


def status(args) -> int:
    api = client(args)
    if args.all:
        rec = api.json("GET", job_path(args.id))
        if args.json:
            print(show.to_json(rec))
            return OK
        text = show.record(rec, RECORD_KEYS)
        events = rec.get("events") or []
        if events:
            text += "events\n" + "".join(f"  {show.word(line)}\n" for line in events)
        sys.stdout.write(text)
        return OK
    rec = api.json("GET", job_path(args.id, "status"))
    sys.stdout.write(show.to_json(rec) + "\n" if args.json else show.record(rec, STATUS_KEYS))
    return OK


def list_jobs(args) -> int:
    query = {"state": args.job_state, "node": args.node, "name": args.name,
             "limit": args.limit, "after": args.after}
    answer = client(args).json("GET", "/scheduler/jobs", query=query)
    if args.json:
        print(show.to_json(answer))
        return OK
    sys.stdout.write(show.table(answer.get("jobs") or [], LIST_COLUMNS))
    return OK


def log(args) -> int:
    api = client(args)
    out = sys.stdout.buffer
    path = job_path(args.id, "log")
    if not args.follow:
        data, _ = api.get_bytes(path)
        out.write(data)
        out.flush()
        return OK
    offset = 0
    while True:
        # The stream ends when the job has stopped and every byte was sent; a stream cut
        # early (a proxy's timeout, a restarted server) is taken up again at `offset`.
        for chunk in api.chunks(path, {"follow": 1, "offset": offset}, cut_ok=True):
            out.write(chunk)
            out.flush()
            offset += len(chunk)
        stopped = api.json("GET", job_path(args.id, "status")).get("state") == State.STOPPED.value
        data, _ = api.get_bytes(path, {"offset": offset})
        if data:
            out.write(data)
            out.flush()
            offset += len(data)
        if stopped and not data:
            return OK
        if not data:
            time.sleep(FOLLOW_RETRY)


def control(args) -> int:
    """kill, hold, release, suspend, continue: each id in turn; the worst exit code wins."""
    api = client(args)
    code = OK
    for job_id in args.ids:
        try:
            rec = api.json("POST", job_path(job_id, args.action))
        except Refused as err:
            if len(args.ids) == 1:
                raise
            print(f"banyan: {err}", file=sys.stderr)
            code = max(code, err.code)
            continue
        print(show.to_json(rec) if args.json else show.job_line(rec), flush=True)
    return code


def artifact(args) -> int:
    api = client(args)
    chunks = api.chunks(job_path(args.id, "artifacts", quote(args.name)))
    if not args.output or args.output == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return OK
    # Into a temp file beside FILE, renamed when whole: a failed download leaves no FILE.
    target = os.path.abspath(args.output)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".banyan-", dir=os.path.dirname(target))
    except OSError as err:
        raise Usage(f"cannot write {args.output}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, target)
    except OSError as err:
        os.unlink(tmp)
        raise Usage(f"cannot write {args.output}: {err.strerror or err}") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return OK
