"""The state folder: atomic writes, tmp cleaning, queue order, the pass lock, hostile drops."""

import json
import os
import subprocess
import sys
import time

import pytest

from banyan.errors import NoSpace, Unavailable
from banyan.scheduler import lifecycle
from banyan.scheduler.passes import Scheduler
from banyan.spool import Spool, events, queue
from banyan.spool.atomic import append_line, read_text, write_text
from banyan.spool.lock import hold, try_hold


def test_write_is_one_line_and_leaves_no_temp(spool):
    path = os.path.join(spool.root, "scheduler", "x")
    write_text(spool.layout.tmp, path, "queued", durable=True)
    with open(path) as f:
        assert f.read() == "queued\n"
    assert read_text(path) == "queued"
    assert os.listdir(spool.layout.tmp) == []


def test_write_that_fails_leaves_nothing(spool):
    with pytest.raises(FileNotFoundError):
        write_text(spool.layout.tmp, os.path.join(spool.root, "no", "such", "dir", "f"), "x")
    assert os.listdir(spool.layout.tmp) == []


def test_clean_tmp_removes_only_old_leftovers(spool):
    old = os.path.join(spool.layout.tmp, "1.1.old")
    new = os.path.join(spool.layout.tmp, "1.2.new")
    for p in (old, new):
        open(p, "w").close()
    os.utime(old, (time.time() - 40 * 3600,) * 2)
    assert spool.clean_tmp() == 1
    assert os.listdir(spool.layout.tmp) == ["1.2.new"]


def test_queue_order_is_priority_then_submission(spool):
    now = time.time()
    for i, (job_id, prio) in enumerate([("a", 0), ("b", 5), ("c", 0), ("d", -3), ("e", 5)]):
        spool.index.enqueue(job_id, prio, int((now + i) * 1e6))
    assert [j for _, j in spool.index.queued()] == ["b", "e", "a", "c", "d"]
    assert sorted(os.listdir(spool.layout.queue)) == [n for n, _ in spool.index.queued()]
    assert os.readlink(os.path.join(spool.layout.queue, next(spool.index.queued())[0])) == "../jobs/b"


def test_pass_lock_excludes_another_process(spool):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from banyan.spool import Spool; s = Spool(sys.argv[1]); "
        "l = s.pass_lock(); l.acquire(); print('held', flush=True); time.sleep(30)"), spool.root],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not try_hold(spool.pass_lock())
        out = subprocess.run([sys.executable, "-m", "banyan", "--state", spool.root, "scheduler",
                              "--once"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "another pass" in out.stderr
    finally:
        holder.kill()
        holder.wait()
    lock = spool.pass_lock()
    assert try_hold(lock)  # the kernel dropped the dead holder's lock
    lock.release()


def test_pass_lock_excludes_another_holder_in_the_same_process_and_times_out(spool):
    first = spool.pass_lock()
    assert try_hold(first)
    t0 = time.monotonic()
    with pytest.raises(Unavailable):
        hold(spool.pass_lock(), 0.2)  # a second lock object is a second holder: it waits
    assert time.monotonic() - t0 >= 0.2
    first.release()
    with spool.pass_lock(wait=-1):  # free again: `with` takes it at once
        assert not try_hold(spool.pass_lock())
    last = spool.pass_lock()
    assert try_hold(last)
    last.release()


def test_a_daemon_keeps_what_it_knows_of_the_records_only_while_nobody_else_held_the_lock(spool):
    """Each holder signs the lock file as it takes the lock; the daemon's next pass reuses
    the values its last pass read or wrote only if its own mark is still there. A record
    that another holder (the API's kill, a cron pass, another process) changed is read
    anew; one changed by nobody is not read again."""
    for job_id in ("a", "b"):
        spool.incoming.submit(job_id, json.dumps({"commands": [{"exec": ["true"]}]}).encode())
    scheduler, daemon = Scheduler(spool), spool.pass_lock()
    with daemon:
        assert not daemon.undisturbed  # its first hold
        scheduler.run_pass(undisturbed=daemon.undisturbed)
    assert spool.jobs.get("a", "state") == "queued"  # no node: both wait in the queue
    with daemon:
        assert daemon.undisturbed
        with spool.jobs.memo(keep=daemon.undisturbed):
            assert spool.jobs.get("a", "state") == "queued"
    api = Spool(spool.root)  # the API's process, with its own objects
    with api.pass_lock():
        lifecycle.cancel(api, "a", "cancelled by a user")
    with open(os.path.join(spool.layout.jobs, "b", "state"), "w") as f:
        f.write("held\n")  # behind every lock's back: this is what a kept value hides
    with daemon:
        assert not daemon.undisturbed
        with spool.jobs.memo(keep=daemon.undisturbed):
            assert spool.jobs.get("a", "state") == "stopped"
            assert spool.jobs.get("b", "state") == "held"
    with open(os.path.join(spool.layout.jobs, "b", "state"), "w") as f:
        f.write("queued\n")
    with daemon:
        assert daemon.undisturbed
        with spool.jobs.memo(keep=daemon.undisturbed):
            assert spool.jobs.get("b", "state") == "held"  # kept: not read again
    subprocess.run([sys.executable, "-c", (
        "import sys; from banyan.spool import Spool; Spool(sys.argv[1]).pass_lock().acquire()"),
        spool.root], check=True)  # another process held it (and died holding it)
    with daemon:
        assert not daemon.undisturbed


def test_a_pass_lists_the_index_once_and_a_daemon_keeps_the_listing_only_while_it_is_true(
        spool, monkeypatch):
    """Within a pass the index's own changes keep its listing true; the next undisturbed
    pass keeps it, up to LISTING_KEPT; another holder, a failed step or age makes the
    pass list the folders anew."""
    index = spool.index
    by_hand = lambda name: os.symlink("../jobs/x", os.path.join(spool.layout.queue, name))
    with index.listed():
        assert list(index.queued()) == []
        a = index.enqueue("a", 0, 2)
        by_hand(queue.entry_name("h", 0, 1))  # behind the listing's back
        assert [j for _, j in index.queued()] == ["a"]
        index.to_running(a, "a")
        assert (list(index.queued()), index.running()) == ([], ["a"])
        index.mark_releasing("a")
        index.remove_running("a")
        assert (index.running(), index.releasing()) == ([], ["a"])
    with index.listed(keep=True):
        assert list(index.queued()) == []  # kept: the entry made by hand is not seen
        b = index.enqueue("b", 5, 3)
        assert [j for _, j in index.queued()] == ["b"]
        assert index.dequeue("b", b) and list(index.queued()) == []
    with index.listed(keep=False):  # another holder had the lock: listed anew
        assert [j for _, j in index.queued()] == ["h"]
        index.dequeue("h")
    by_hand(queue.entry_name("i", 0, 4))
    with pytest.raises(OSError):
        with index.listed(keep=True):
            index.to_running("no-such-entry", "z")
    with index.listed(keep=True):  # the failed pass's listing is not kept
        assert [j for _, j in index.queued()] == ["i"]
    by_hand(queue.entry_name("k", 0, 5))
    monkeypatch.setattr(queue, "LISTING_KEPT", 0.0)
    with index.listed(keep=True):  # too old to keep
        assert [j for _, j in index.queued()] == ["i", "k"]
    assert [j for _, j in index.queued()] == ["i", "k"]  # outside a pass: the folder itself


def test_hostile_drops_are_rejected_with_a_reason(spool):
    inc = spool.layout.incoming
    with open(os.path.join(inc, "badjson.job"), "w") as f:
        f.write("{nope")
    with open(os.path.join(inc, "unknown.job"), "w") as f:
        json.dump({"colour": "red"}, f)
    os.mkfifo(os.path.join(inc, "fifo.job"))
    os.symlink("/etc/passwd", os.path.join(inc, "link.job"))
    with open(os.path.join(inc, ".inprogress.job"), "w") as f:
        f.write("{}")
    with open(os.path.join(inc, "huge.job"), "w") as f:
        json.dump({"commands": [{"exec": ["true"]}], "name": "x" * (2 << 20)}, f)
    with open(os.path.join(inc, "good.job"), "w") as f:
        json.dump({"commands": [{"exec": ["true"]}]}, f)
    report = Scheduler(spool).run_pass()
    assert report.taken == ["good"]
    for name, words in [("badjson", "malformed JSON"), ("unknown", "unknown field"),
                        ("fifo", "not a regular file"), ("link", "not a regular file"),
                        ("huge", "over the limit")]:
        assert words in read_text(spool.layout.rejected_file(name, ".reason"))
        assert os.path.lexists(spool.layout.rejected_file(name, ".job"))
    assert os.listdir(inc) == [".inprogress.job"]
    assert spool.jobs.get("good", "state") == "queued"


def test_disk_full_is_a_507_error_not_a_partial_file(spool):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this machine")
    with pytest.raises(NoSpace):
        append_line("/dev/full", "x")
    with pytest.raises(NoSpace):  # the global log, through the descriptor kept open
        events.append_global("/dev/full", "x")


def test_times_parse_back_to_the_millisecond_and_only_in_the_state_folder_format():
    from banyan import timefmt

    for t in (0.0, 1795390826.123, 1795390826.9995, 4102444799.001):
        assert timefmt.parse(timefmt.iso(t)) == round(t, 3)
    for text in (None, "", "2026-11-22", "2026-11-22T23:40:26Z", "2026-11-22T23:40:26.123+00:00",
                 "2026-11-22 23:40:26.123Z", "2026-13-22T23:40:26.123Z"):
        assert timefmt.parse(text) is None


def test_read_text_reads_values_of_any_length_whole(tmp_path):
    from banyan.spool.atomic import READ_FIRST

    path = str(tmp_path / "value")
    for n in (0, 1, READ_FIRST - 1, READ_FIRST, READ_FIRST + 1, 3 * (1 << 16) + 7):
        write_text(str(tmp_path), path, "v" * n)
        assert read_text(path) == "v" * n
    assert read_text(str(tmp_path / "none")) is None
    assert read_text(path + "/below-a-file") is None


def test_a_forked_child_names_its_temp_files_by_its_own_pid(tmp_path):
    """Supervisors are forked; a temp name with the parent's pid could collide with its."""
    from banyan.spool.atomic import tmp_name

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, tmp_name(str(tmp_path), "x/state").encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(w)
    child = os.read(r, 4096).decode()
    assert child.startswith(f"{tmp_path}/{pid}.") and child.endswith(".state")
    assert tmp_name(str(tmp_path), "state").startswith(f"{tmp_path}/{os.getpid()}.")


def test_ids_are_checked_the_same_the_second_time():
    from banyan.spool import ids

    for _ in range(2):  # the second answer comes from the ids already found valid
        assert ids.valid("a") and ids.valid("A" + "b" * 63) and ids.valid("x.y_z-1")
        for bad in ("", "a" * 65, "a\n", "-a", ".a", "a/b", "a b", None, 7, ["a"]):
            assert not ids.valid(bad), bad


def test_an_event_detail_cannot_forge_a_line(spool):
    os.mkdir(spool.layout.job_dir("j1"))
    events.record(spool.layout, "j1", "note", "one\n2026-01-01T00:00:00.000Z forged x\x1b[2J", now=0)
    assert events.read(spool.layout, "j1") == [
        "1970-01-01T00:00:00.000Z note one 2026-01-01T00:00:00.000Z forged x [2J"]
    assert events.clean("é ok " * 300) == ("é ok " * 300)[:1000]


def test_a_child_forked_while_the_global_log_is_being_written_can_write_it(spool):
    """The descriptor's lock, held by another thread at the fork, is not the child's."""
    events.append_global(spool.layout.events, "parent")
    with events._open.lock:  # as a thread of the parent writing at that moment
        pid = os.fork()
        if pid == 0:
            events.append_global(spool.layout.events, "child")
            os._exit(0)
    deadline = time.monotonic() + 10
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the child hung on the parent's lock")
        time.sleep(0.01)
    with open(spool.layout.events) as f:
        assert f.read().split() == ["parent", "child"]


def test_the_global_log_kept_open_follows_a_log_moved_aside(spool, monkeypatch):
    """A process keeps the global log open; once the path names another file (logrotate
    moved it), the next check lets the old one go and the lines go to the path again."""
    for job_id in ("r1", "r2", "r3"):
        os.mkdir(spool.layout.job_dir(job_id))
    events.record(spool.layout, "r1", "note", now=0)
    os.rename(spool.layout.events, spool.layout.events + ".1")
    events.record(spool.layout, "r2", "note", now=0)  # within RECHECK: still the open file
    monkeypatch.setattr(events, "RECHECK", 0.0)
    events.record(spool.layout, "r3", "note", now=0)
    with open(spool.layout.events + ".1") as old, open(spool.layout.events) as new:
        assert [line.split()[1] for line in old] == ["r1", "r2"]
        assert [line.split()[1] for line in new] == ["r3"]
