"""A job's bundle and input on its node: fetched from the scheduler, checked, unpacked into `work/`.

No filesystem is assumed to be shared between the scheduler and a node. The placement
carries only each archive's name and size (a batch of many jobs stays small); the
job's supervisor fetches the archives from `GET /scheduler/jobs/<id>/files/<name>`
before the first command, checks the size, and unpacks them with `banyan.bundle`,
which judges every member again: a node trusts no sender.
"""

import http.client
import os
import urllib.parse

from .. import bundle, defaults, tls
from ..errors import BadRequest
from ..spool.atomic import tmp_name
from ..spool.paths import ATTACHMENTS
from ..spool.procjobs import ProcessorJobs

TIMEOUT = 30.0
"""Seconds the scheduler may be silent during one fetch."""


class Failed(Exception):
    """The archives could not be fetched or unpacked; the message goes to the job's log."""


def check_files(value) -> dict[str, int]:
    """A placement's `files`: {"bundle": size, "input": size}, either optional."""
    if not isinstance(value, dict) or not set(value) <= set(ATTACHMENTS):
        raise BadRequest('files must be {"bundle": size, "input": size}')
    for size in value.values():
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= defaults.MAX_BUNDLE:
            raise BadRequest("a file size must be a whole number of bytes within the bundle limit")
    return dict(value)


def prepare(jobs: ProcessorJobs, job_id: str, request: dict, scheduler_url: str | None,
            token: str | None) -> dict[str, str]:
    """Fetch and unpack the job's archives (bundle first); the environment they add."""
    files = request.get("files") or {}
    if not files:
        return {}
    work = jobs.path(job_id, "work")
    for field in ATTACHMENTS:
        if field not in files:
            continue
        path = jobs.path(job_id, ATTACHMENTS[field])
        _fetch(jobs, job_id, field, files[field], path, scheduler_url, token)
        try:
            bundle.extract(path, work, field, need_run_sh=field == "bundle")
        except BadRequest as err:
            raise Failed(str(err)) from None
    out, scratch = os.path.join(work, "out"), os.path.join(work, "scratch")
    os.makedirs(out, exist_ok=True)
    os.makedirs(scratch, exist_ok=True)
    env = {"MODACLOUDS_BATCH_OUTPUT": out, "MODACLOUDS_BATCH_SCRATCH_DIRECTORY": scratch}
    if "input" in files:
        env["MODACLOUDS_BATCH_INPUT"] = jobs.path(job_id, ATTACHMENTS["input"])
    return env


def _fetch(jobs: ProcessorJobs, job_id: str, field: str, size: int, dest: str,
           scheduler_url: str | None, token: str | None) -> None:
    """Download one archive into tmp/, check its size, rename it into the job's folder."""
    if not scheduler_url:
        raise Failed(f"cannot fetch the {field}: this processor has no --scheduler URL")
    parts = urllib.parse.urlsplit(scheduler_url.rstrip("/"))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    tmp = tmp_name(jobs.layout.tmp, dest)
    conn = tls.connection(parts.scheme, parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request("GET", f"{parts.path}/scheduler/jobs/{job_id}/files/{field}", headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            raise Failed(f"cannot fetch the {field}: the scheduler answered {resp.status}")
        got = 0
        with open(tmp, "xb") as f:
            while chunk := resp.read(1 << 16):
                got += len(chunk)
                if got > size:
                    break
                f.write(chunk)
        if got != size:
            raise Failed(f"cannot fetch the {field}: got {got} bytes, not {size}")
        os.rename(tmp, dest)
    except (OSError, http.client.HTTPException) as err:
        raise Failed(f"cannot fetch the {field}: {err}") from None
    finally:
        conn.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
