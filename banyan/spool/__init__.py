"""The state folder: the only package that knows paths on disk.

Every other module goes through `Spool` (see `spool.py`): it validates ids before
building a path, writes atomically through `state/tmp/`, and keeps the index
folders (`queue/`, `running/`) consistent with the job records.
"""

from .spool import Spool

__all__ = ["Spool"]
