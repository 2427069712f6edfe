"""Every path of the state folder (SPEC §2), spelled once. Ids are checked before use."""

import os

from . import ids

FOLDERS = (
    "incoming", "rejected", "tmp", "scheduler", "scheduler/jobs", "scheduler/queue",
    "scheduler/running", "scheduler/releasing", "scheduler/nodes", "scheduler/reports", "scheduler/notify",
    "processor",
    "processor/job", "auth", "auth/tokens",
)

ATTACHMENTS = {"bundle": "bundle.tar.gz", "input": "input.tar.gz"}
"""A job's archives, by field name → file name, in a job's folder (scheduler and node alike)."""


class Layout:
    """Paths under one state folder. Methods taking an id or name validate it first."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        j = lambda *p: os.path.join(self.root, *p)
        self.incoming = j("incoming")
        self.rejected = j("rejected")
        self.tmp = j("tmp")
        self.scheduler = j("scheduler")
        self.lock = j("scheduler", "lock")
        self.jobs = j("scheduler", "jobs")
        self.queue = j("scheduler", "queue")
        self.running = j("scheduler", "running")
        self.releasing = j("scheduler", "releasing")
        self.nodes = j("scheduler", "nodes")
        self.reports = j("scheduler", "reports")
        self.notify = j("scheduler", "notify")
        self.events = j("scheduler", "events")
        self.processor_jobs = j("processor", "job")
        self.tokens = j("auth", "tokens")

    def create(self) -> None:
        """Make every folder (idempotent); tokens get 0700 since they hold hashes."""
        for folder in FOLDERS:
            os.makedirs(os.path.join(self.root, folder), exist_ok=True)
        os.chmod(os.path.join(self.root, "auth"), 0o700)

    def exists(self) -> bool:
        return os.path.isdir(self.jobs) and os.path.isdir(self.tmp)

    def job_dir(self, job_id: str) -> str:
        return f"{self.jobs}/{ids.check(job_id)}"  # a checked id has no "/": no join needed

    def job_file(self, job_id: str, name: str) -> str:
        return f"{self.jobs}/{ids.check(job_id)}/{name}"  # the hottest path of a pass

    def incoming_file(self, job_id: str) -> str:
        return f"{self.incoming}/{ids.check(job_id)}.job"  # on every submission's path

    def incoming_files(self, job_id: str) -> str:
        """The folder of a submission's bundle and input, beside its `.job` until intake."""
        return os.path.join(self.incoming, ids.check(job_id) + ".files")

    def notify_entry(self, job_id: str) -> str:
        return os.path.join(self.notify, ids.check(job_id))

    def rejected_file(self, job_id: str, ext: str) -> str:
        return os.path.join(self.rejected, ids.check(job_id) + ext)

    def queue_entry(self, name: str) -> str:
        return os.path.join(self.queue, name)

    def running_entry(self, job_id: str) -> str:
        return os.path.join(self.running, ids.check(job_id))

    def releasing_entry(self, job_id: str) -> str:
        return os.path.join(self.releasing, ids.check(job_id))

    def job_link(self, job_id: str) -> str:
        """The target of queue/ and running/ entries, relative so the folder can move."""
        return os.path.join("..", "jobs", ids.check(job_id))

    def node_dir(self, name: str) -> str:
        return os.path.join(self.nodes, ids.check(name, "node name"))

    def node_file(self, name: str, field: str) -> str:
        return os.path.join(self.node_dir(name), field)

    def proc_job_dir(self, job_id: str) -> str:
        return f"{self.processor_jobs}/{ids.check(job_id)}"

    def proc_job_file(self, job_id: str, name: str) -> str:
        return f"{self.processor_jobs}/{ids.check(job_id)}/{name}"

    def token_file(self, name: str) -> str:
        return os.path.join(self.tokens, ids.check(name, "token name"))
