"""Atomic writes: temp file in state/tmp/, optional fsync, rename; nothing written after.

This is the Maildir protocol (CPython `mailbox.Maildir.add`) with the directory fsync
that Linux needs for a rename to be durable (HTCondor `classad_log.cpp`). A failed
fsync is final: it raises, and nothing is promised (PostgreSQL's "fsyncgate").
"""

import errno
import itertools
import os

from ..errors import NoSpace

_counter = itertools.count()
_pid = os.getpid()
"""This process's pid, for temp names (os.getpid is a system call); a child sets its own."""
READ_FIRST = 4096
"""Bytes `read_bytes` asks for at first: a whole value, which is one line."""
FULL = (errno.ENOSPC, errno.EDQUOT)


def no_space(err: OSError, path: str) -> NoSpace:
    return NoSpace(f"cannot write {path}: disk full ({os.strerror(err.errno)})")


def tmp_name(tmpdir: str, path: str) -> str:
    """A unique temp name `<pid>.<counter>.<basename>`: no two writers ever share one."""
    return f"{tmpdir}/{_pid}.{next(_counter)}.{path.rpartition('/')[2]}"


def pid() -> int:
    """This process's pid, without a system call."""
    return _pid


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(tmpdir: str, path: str, data: bytes, durable: bool = False) -> None:
    """Replace `path` by `data` atomically; with `durable`, fsync file and folder first."""
    tmp = tmp_name(tmpdir, path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        _discard(tmp)
        if err.errno in FULL:
            raise no_space(err, path) from err
        raise
    except BaseException:
        _discard(tmp)
        raise
    if durable:
        fsync_dir(os.path.dirname(path))


def write_text(tmpdir: str, path: str, text: str, durable: bool = False) -> None:
    """Write one value as one newline-terminated line (SPEC §2), atomically."""
    if not text.endswith("\n"):
        text += "\n"
    write_bytes(tmpdir, path, text.encode(), durable)


def write_staged(path: str, text: str) -> None:
    """Write one value into a folder still being built in tmp/ (not yet renamed into place):
    no reader can see it yet, so it needs no temp file and rename of its own, and the
    folder's rename publishes every file at once (half the file operations of `write_text`)."""
    if not text.endswith("\n"):
        text += "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as err:
        if err.errno in FULL:
            raise no_space(err, path) from err
        raise


def read_text(path: str) -> str | None:
    """The value in `path` without its trailing newline, or None if there is no file."""
    data = read_bytes(path)
    return None if data is None else data.decode(errors="replace").rstrip("\n")


def read_bytes(path: str) -> bytes | None:
    """The whole file, or None if there is none. With os.read, no file object: most files
    read here are one short line, and a file object's machinery made that read 14 µs
    against 5 (and several times that on a cold path)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        data = os.read(fd, READ_FIRST)
        if len(data) == READ_FIRST:  # a long file (a request, events): read on to the end
            chunks = [data]
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            data = b"".join(chunks)
    finally:
        os.close(fd)
    return data


def line_bytes(line: str) -> bytes:
    """`line` as one line of a log: inner newlines become spaces, one ends it."""
    return (line.replace("\n", " ") + "\n").encode(errors="replace")


def append_line(path: str, line: str) -> None:
    """Append one line with a single O_APPEND write, so concurrent appenders never interleave."""
    data = line_bytes(line)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as err:
        if err.errno in FULL:
            raise no_space(err, path) from err
        raise


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
