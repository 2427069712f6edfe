"""Tell the scheduler that a job stopped, so it need not wait for its next poll.

One try, short timeout: the scheduler's poll is the safety net for a lost report.
No proxy from the environment is ever used (RELIABILITY §3.3).
"""

import http.client
import json
import urllib.parse

from .. import tls
from ..spool.procjobs import ProcessorJobs

TIMEOUT = 5.0


def send(jobs: ProcessorJobs, job_id: str, node: str, scheduler_url: str | None,
         token: str | None) -> bool:
    if not scheduler_url:
        return False
    parts = urllib.parse.urlsplit(scheduler_url.rstrip("/"))
    body = json.dumps({"jobs": [jobs.record(job_id)]}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = tls.connection(parts.scheme, parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request("POST", f"{parts.path}/scheduler/nodes/{node}/report", body, headers)
        return conn.getresponse().status < 300
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
