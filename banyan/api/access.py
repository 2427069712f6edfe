"""Who may do what on the scheduler API (SPEC §6): the policy the auth hook asks.

admin: everything (the hook never asks). user: submit, see and control the jobs it
submitted (the token's name is the job's `owner`), read nodes and stats. node: what a
processor needs from the scheduler: report job ends, register, read nodes.
"""

from ..auth import Identity, current
from ..errors import Forbidden
from ..spool import Spool
from . import views

USER_ROUTES_PREFIXES = ("/scheduler/jobs", "/jobs")
READ_ONLY = {"/scheduler/nodes", "/scheduler/nodes/available", "/scheduler/nodes/<name>",
             "/scheduler/stats"}
NODE_ROUTES = {("POST", "/scheduler/nodes/<name>/report"), ("POST", "/scheduler/nodes"),
               ("GET", "/scheduler/jobs/<job_id>/files/<name>")}
"""A node token reports ends, registers its node, and fetches the archives of its jobs."""


def policy(spool: Spool):
    def check(identity: Identity, method: str, rule: str, args: dict) -> None:
        if method == "GET" and rule in READ_ONLY:
            return
        if identity.role == "node":
            if (method, rule) not in NODE_ROUTES:
                raise Forbidden(f"a node token may not call {method} {rule}")
            return
        if not rule.startswith(USER_ROUTES_PREFIXES):
            raise Forbidden(f"only an admin token may call {method} {rule}")
        job_id = args.get("job_id")
        if job_id is not None:
            if views.known(spool, job_id) and views.owner(spool, job_id) != identity.name:
                raise Forbidden(f"job {job_id} belongs to another token")
    return check


def owner_filter() -> str | None:
    """The owner a listing is limited to: the caller's name for a user token, else None (all)."""
    identity = current()
    return identity.name if identity is not None and identity.role == "user" else None


def submitter() -> str | None:
    """The name recorded as a new job's owner: the caller's token name, None when open."""
    identity = current()
    return identity.name if identity is not None else None
