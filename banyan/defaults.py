"""Defaults, each with the reason for its value."""

KILL_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL: Slurm's KillWait default is 30, nq has none; 10 lets
most programs flush and exit while keeping `banyan kill` snappy."""

NODE_TIMEOUT = 60.0
"""Seconds of silence before a node is `down` and its running jobs `lost` (SPEC §3)."""

MAX_BODY = 1 << 20
"""Largest JSON or form request body (SPEC §4); bottle's own default (100 KiB) is too small."""

MAX_BUNDLE = 256 << 20
"""Largest multipart body, bundle and input together (SPEC §4)."""

MAX_ATTEMPTS = 1
"""Placements per job: 1 means no retry, so nothing runs twice unless asked (SPEC §3)."""

TMP_MAX_AGE = 36 * 3600.0
"""Seconds before a leftover in state/tmp/ is removed; Maildir's clean() uses 36 h too."""

TICK = 2.0
"""Seconds between daemon passes when no file event wakes it: the safety net for lost events."""

MAX_PRIORITY = 1000
"""Priorities run from -MAX_PRIORITY to MAX_PRIORITY so queue names sort with fixed width."""

LIST_LIMIT = 1000
"""Default page size of a listing; `?limit=` raises it up to LIST_LIMIT_MAX."""

LIST_LIMIT_MAX = 100000
"""Largest page a listing answers, so one request cannot read the whole spool unbounded."""

PATH = "/usr/local/bin:/usr/bin:/bin"
"""PATH of a job whose request sets none: job environments start empty (pueue#297)."""

HEARTBEAT = 10.0
"""Seconds between a processor's re-registrations: a sixth of NODE_TIMEOUT, so a few lost
heartbeats never mark a live node down."""
