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

BACKLOG = 1.0
"""How much a node may hold beyond what it runs, as a multiple of its size: with 1, a
2-core node runs 2 one-core jobs and keeps 2 more waiting, which it starts the moment a
core frees (no round trip through the scheduler). 0 sends only what runs at once, like
Slurm; more suits floods of short jobs, less keeps long ones free to go to a node that
frees up later."""
SHORT_BACKLOG = 3.0
"""The backlog of a node whose jobs have lately run for less than `SHORT_JOB` seconds
(unless `--backlog` is 0): there a waiting job starts within milliseconds anyway, and the
queue on the node is what keeps its cores busy between two passes. By hand, a backlog of
3 made 1,000 `true` jobs through `banyan up` 6–19 % faster than 1, in alternated runs."""
SHORT_JOB = 0.05
"""Seconds of running, as an average of a node's last jobs, under which its jobs are short."""

TICK = 2.0
"""Seconds between daemon passes when no file event wakes it: the safety net for lost events."""

MAX_PRIORITY = 1000
"""Priorities run from -MAX_PRIORITY to MAX_PRIORITY so queue names sort with fixed width."""

LIST_LIMIT = 1000
"""Default page size of a listing; `?limit=` raises it up to LIST_LIMIT_MAX."""

LIST_LIMIT_MAX = 100000
"""Largest page a listing answers, so one request cannot read the whole spool unbounded."""

LOG_CHUNK = 1 << 20
"""Most bytes of a log one request answers (`?offset=` pages through the rest; `?tail=` is capped)."""

PATH = "/usr/local/bin:/usr/bin:/bin"
"""PATH of a job whose request sets none: job environments start empty (pueue#297)."""

HEARTBEAT = 10.0
"""Seconds between a processor's re-registrations: a sixth of NODE_TIMEOUT, so a few lost
heartbeats never mark a live node down."""

MAX_UNPACKED = 4 << 30
"""Largest total size of the members of one bundle or input archive: a 256 MiB gzip can
otherwise unpack to hundreds of GiB (a gzip bomb, RELIABILITY §3.2)."""

MAX_MEMBERS = 100000
"""Most members in one archive, and so most files one extraction may create."""

NOTIFY_TRIES = 8
"""Deliveries of one notification before giving up (SPEC §5)."""

NOTIFY_FIRST_RETRY = 2.0
"""Seconds before the second try; each later wait doubles (2, 4, ... 128 s: about 4 min in all)."""

NOTIFY_TIMEOUT = 10.0
"""Seconds one try may take to connect and to answer."""

RETENTION = 7 * 86400.0
"""Seconds a stopped job's folders (record, log, artifacts) stay before `banyan gc` removes them."""

MAX_ARRAY = 10000
"""Most indexes one array may have: Slurm's MaxArraySize defaults to 1001; files are cheap here,
and a 10,000-job graph is the size the DAG bench runs."""

MAX_GRAPH = 20000
"""Most jobs one request may create (graph members, arrays inside it, and their groups)."""
