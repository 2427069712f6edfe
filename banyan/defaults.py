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
COVER = 0.03
"""Seconds of work a node holds waiting per core, beyond what it runs, once the daemon has
seen how long its jobs run: its backlog is COVER over their average run time (never less
than `--backlog`, never more than MAX_BACKLOG). A node of short jobs so holds enough to
keep its cores busy until the next pass refills it, and a job placed after them waits
there no more than about COVER (or overtakes them, with a higher priority); a node of
jobs of 30 ms and more keeps `--backlog`."""
MAX_BACKLOG = 16.0
"""The longest backlog COVER gives (jobs of under 2 ms). 1,000 `true` jobs through
`banyan up`, alternated: 720, 701 and 731 jobs/s with 16, 24 and 32; 683 against 556 for
the rule before (3 for jobs under 50 ms), and 3.56 against 3.94 times a `true` job's CPU
for Banyan's own processes: a longer backlog means larger batches for every hand-over."""
RUN_FLOOR = 0.001
"""Seconds: the resolution of `started-at` and `finished-at`, so the shortest run time."""

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
