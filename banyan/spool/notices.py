"""`scheduler/notify/`: stopped jobs with a notification still to deliver; entries link to ../jobs/<id>.

An entry is made before the job's `state` becomes stopped (so a crash cannot lose it)
and removed when the notification is delivered, refused, or given up on. How many
tries were made, and when, is read back from the job's `events`, so a restarted
scheduler resumes the back-off where it was.
"""

import os

from .paths import Layout


class Notices:
    def __init__(self, layout: Layout):
        self.layout = layout

    def add(self, job_id: str) -> None:
        try:
            os.symlink(self.layout.job_link(job_id), self.layout.notify_entry(job_id))
        except FileExistsError:
            pass

    def ids(self) -> list[str]:
        return sorted(n for n in os.listdir(self.layout.notify) if not n.startswith("."))

    def has(self, job_id: str) -> bool:
        return os.path.lexists(self.layout.notify_entry(job_id))

    def remove(self, job_id: str) -> None:
        try:
            os.unlink(self.layout.notify_entry(job_id))
        except FileNotFoundError:
            pass
