"""`Spool`: one state folder, with its parts (jobs, queue, nodes, incoming, processor jobs)."""

import os
import shutil
import time

from ..defaults import TMP_MAX_AGE
from .incoming import Incoming
from .jobs import Jobs
from .lock import pass_lock
from .nodes import Nodes
from .notices import Notices
from .paths import Layout
from .procjobs import ProcessorJobs
from .queue import Index
from .reports import Reports
from .tokens import Tokens


class Spool:
    """Entry point for every read and write of the state folder."""

    def __init__(self, root: str, create: bool = True):
        self.layout = Layout(root)
        if create:
            self.layout.create()
        self.root = self.layout.root
        self.jobs = Jobs(self.layout)
        self.index = Index(self.layout)
        self.nodes = Nodes(self.layout)
        self.incoming = Incoming(self.layout)
        self.processor = ProcessorJobs(self.layout)
        self.reports = Reports(self.layout)
        self.tokens = Tokens(self.layout)
        self.notices = Notices(self.layout)

    def pass_lock(self, wait: float = 0):
        """A fresh lock object on scheduler/lock (a fresh fd, so threads exclude each other too)."""
        return pass_lock(self.layout.lock, wait)

    def clean_tmp(self, older_than: float = TMP_MAX_AGE, now: float | None = None) -> int:
        """Remove leftovers in tmp/ not touched for `older_than` seconds (Maildir's clean())."""
        now = time.time() if now is None else now
        removed = 0
        for name in os.listdir(self.layout.tmp):
            path = os.path.join(self.layout.tmp, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if now - st.st_mtime < older_than:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    continue
            removed += 1
        return removed
