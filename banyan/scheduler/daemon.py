"""`banyan scheduler`: one pass from cron (`--once`), or a daemon woken by file events.

A file arriving in `incoming/` or `reports/` only ends the wait between passes (huey:
signal handlers set flags, the loop does the work); every pass lists both folders, so
a lost file event costs at most one tick. The loop's own thread waits on the inotify
descriptor (wakeup.py): watchdog's Observer passed each event through two more threads
and queues (0.4 ms of a job's start here against 0.2), and its reader thread alone cost
a GIL hand-over per event. Each pass holds the pass lock, so cron passes and API
actions never overlap it.
Notifications are delivered by a thread of their own (notify.py), never by a pass.
After a busy pass, placements leave from a pool of threads (place.py), whose answers
wake the loop; after a quiet one, the pass sends and waits, which is quicker for one job.
A pass stopped by a full disk (or another OSError) is tried again a tick later, as a
cron pass would be: the daemon must outlive the disk, and a step that failed wrote
nothing half (its memo and listings are dropped with it). Under load (a pass that found
`BUSY` things to do) the next pass starts only `GATHER`
after it, so the arrivals of that moment share one pass (Postfix's qmgr batches the
same way); an arrival on a quiet system is taken at once.
"""

import signal
import sys
import threading
import time

from .. import defaults, logline
from ..errors import NoSpace
from ..spool import Spool
from ..spool.lock import try_hold
from .notify import Notifier
from .passes import Scheduler

GATHER = 0.004
"""Seconds between the start of a busy pass and the start of the next."""
BUSY = 3
"""Jobs taken in, finished and placed by one pass that make it busy."""


def run(state_dir: str, once: bool = False, node_timeout: float = defaults.NODE_TIMEOUT,
        tick: float = defaults.TICK, backlog: float = defaults.BACKLOG) -> int:
    """Run one pass (`once`) or loop until SIGTERM/SIGINT; returns the exit code."""
    spool = Spool(state_dir)
    scheduler = Scheduler(spool, node_timeout, tick, backlog=backlog)
    if once:
        lock = spool.pass_lock()
        if not try_hold(lock):
            print("banyan: another pass is running; nothing to do", file=sys.stderr)
            return 0
        try:
            scheduler.run_pass()
        finally:
            lock.release()
        Notifier(spool).run_due()  # after the pass, with the lock released
        return 0
    return loop(spool, scheduler, tick)


def loop(spool: Spool, scheduler: Scheduler, tick: float) -> int:
    from .wakeup import Wakeup  # here: a pass from cron needs neither inotify nor watchdog

    stop = threading.Event()
    wake = Wakeup([spool.layout.incoming, spool.layout.reports])

    def on_signal(_signum, _frame):
        stop.set()
        wake.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.placer.send_in_background(wake.set)
    notifier = threading.Thread(target=Notifier(spool).run, args=(stop,), name="notifier", daemon=True)
    notifier.start()
    lock = spool.pass_lock(wait=-1)
    busy = False
    try:
        while not stop.is_set():
            wake.clear()
            started = time.monotonic()
            scheduler.placer.wait_for_answers = not busy
            try:
                with lock:
                    report = scheduler.run_pass(undisturbed=lock.undisturbed)
            except (OSError, NoSpace) as err:  # each step wrote whole or not at all: try again
                logline.warn(f"banyan scheduler: a pass stopped: {err}; the next in {tick:g} s")
                busy = False
                stop.wait(tick)
                continue
            busy = len(report.taken) + len(report.finished) + len(report.placed) >= BUSY
            if busy:
                time.sleep(max(0.0, started + GATHER - time.monotonic()))
            wake.wait(tick)
    finally:  # `wake` stays open: a placement's answer may still call it while we exit
        notifier.join(timeout=5)
    return 0
