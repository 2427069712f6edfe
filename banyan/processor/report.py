"""Tell the scheduler that jobs stopped, so it need not wait for its next poll.

One try, short timeout: the scheduler's poll is the safety net for a lost report.
No proxy from the environment is ever used (RELIABILITY §3.3).
"""

import encodings.idna  # noqa: F401 - socket needs it for host names: import it once in the fork server
import http.client
import json
import urllib.parse

from .. import tls

TIMEOUT = 5.0


def send(records: list[dict], node: str, scheduler_url: str | None, token: str | None) -> bool:
    """POST the jobs' `records` (as `GET /processor/job/<id>/status` answers them)."""
    if not scheduler_url:
        return False
    parts = urllib.parse.urlsplit(scheduler_url.rstrip("/"))
    body = json.dumps({"jobs": records}).encode()
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
