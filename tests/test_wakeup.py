"""The daemon's wait between passes: woken by arrivals in its folders, by other threads and
by signals, never by its own deletions; and a real `banyan scheduler` daemon that takes a
dropped file at once, not at its next tick, and stops at once on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import ROOT, wait_until

from banyan.scheduler.wakeup import Wakeup
from banyan.spool import Spool


def test_arrivals_and_other_threads_wake_the_wait_and_deletions_do_not(tmp_path):
    inbox, other = tmp_path / "incoming", tmp_path / "other"
    inbox.mkdir()
    other.mkdir()
    wake = Wakeup([str(inbox)])
    assert wake.wait(0.05) is False  # nothing yet: the timeout ends it
    (other / "x").write_text("x")
    assert wake.wait(0.05) is False  # not a watched folder
    (tmp_path / "made-elsewhere").write_text("job")
    os.rename(tmp_path / "made-elsewhere", inbox / "a.job")  # mv, as SPEC §2 says to drop one
    assert wake.wait(5) is True
    assert wake.wait(0.05) is True  # still pending until cleared
    wake.clear()
    assert wake.wait(0.05) is False
    os.unlink(inbox / "a.job")  # the pass's own removal of what it took
    assert wake.wait(0.05) is False
    for i in range(3000):  # more events than one read takes: clear() drains them all
        os.link(tmp_path / "other" / "x", inbox / f"{i}.job")
    wake.clear()
    assert wake.wait(0.05) is False
    threading.Timer(0.2, wake.set).start()  # a placement's answer, from a pool thread
    started = time.monotonic()
    assert wake.wait(10) is True and time.monotonic() - started < 5
    wake.clear()
    for _ in range(100_000):  # a full pipe does not block the waker
        wake.set()
    wake.clear()
    assert wake.wait(0.05) is False


def test_the_daemon_takes_a_dropped_file_at_once_and_stops_at_once(tmp_path):
    """Its tick is 2 s: each drop, at a random point of it, is taken well before."""
    state = str(tmp_path / "state")
    Spool(state)
    env = dict(os.environ, PYTHONPATH=ROOT)
    daemon = subprocess.Popen([sys.executable, "-m", "banyan", "--state", state, "scheduler"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def drop(name: str) -> None:
            path = os.path.join(state, "tmp", name)
            with open(path, "w") as f:
                f.write(json.dumps({"commands": [{"exec": ["true"]}]}))
            os.rename(path, os.path.join(state, "incoming", f"{name}.job"))

        def taken(name: str) -> bool:
            assert daemon.poll() is None, daemon.stderr.read()
            return os.path.exists(os.path.join(state, "scheduler", "jobs", name, "state"))

        drop("warm")
        wait_until(lambda: taken("warm"), timeout=30, what="the daemon to start")
        for i in range(5):
            time.sleep(0.37)
            drop(f"d{i}")
            dropped = time.monotonic()
            wait_until(lambda: taken(f"d{i}"), timeout=10, interval=0.005, what=f"d{i} taken")
            assert time.monotonic() - dropped < 0.5, f"d{i} waited for the tick"
        time.sleep(0.3)
        daemon.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        assert daemon.wait(timeout=10) == 0, daemon.stderr.read()
        assert time.monotonic() - asked < 1.0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
