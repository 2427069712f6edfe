"""Bundles and inputs: tar archives checked member by member, then unpacked into a job's `work/`.

tarfile's `data` filter alone is not enough (RELIABILITY §0.8, §3.2): it strips a
leading `/` instead of refusing, and the Python of this machine predates the 2025
fixes of its bypasses. So every member is judged here first, and one bad member
refuses the whole archive: only regular files and folders, with relative names free
of `..`, within size, count and depth caps. The API checks an archive when it is
submitted (a 400 then), the node checks it again as it unpacks (it trusts no sender).
"""

import tarfile
import zlib
from dataclasses import dataclass

from . import defaults
from .errors import BadRequest

ALLOWED_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE)
KINDS = {tarfile.SYMTYPE: "a symbolic link", tarfile.LNKTYPE: "a hard link",
         tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device",
         tarfile.FIFOTYPE: "a FIFO", tarfile.CONTTYPE: "a contiguous file",
         tarfile.GNUTYPE_SPARSE: "a sparse file"}
MAX_DEPTH = 64
MAX_NAME = 4096
MAX_PART = 255


@dataclass
class Summary:
    members: int = 0
    size: int = 0
    run_sh_mode: int | None = None
    run_sh_shebang: bool = False


def check(path: str, what: str, need_run_sh: bool = False) -> Summary:
    """Read every member of the archive at `path`; BadRequest names the first bad one."""
    summary = Summary()
    with _open(path, what) as tar:
        for member in _members(tar, what):
            if _judge(member, what, summary) == "run.sh" and member.isfile():
                summary.run_sh_shebang = tar.extractfile(member).read(2) == b"#!"
    if need_run_sh and summary.run_sh_mode is None:
        raise BadRequest(f"{what} has no run.sh at its top level")
    return summary


def extract(path: str, dest: str, what: str, need_run_sh: bool = False) -> Summary:
    """Check the archive, then unpack it into `dest` (a folder that exists) with the `data` filter."""
    summary = check(path, what, need_run_sh)
    with _open(path, what) as tar:
        tar.errorlevel = 2
        for member in _members(tar, what):
            name = _judge(member, what, Summary())
            if name is None:
                continue
            member.name = name
            try:
                tar.extract(member, dest, filter="data")
            except (tarfile.TarError, OSError) as err:
                raise BadRequest(f"{what}: cannot unpack {name!r}: {err}") from None
    return summary


def command(summary: Summary, arguments: list[str]) -> dict:
    """The command that runs the bundle: `./run.sh ARGS` if it is executable and starts with `#!`
    (a Python run.sh keeps its interpreter), else `/bin/sh run.sh ARGS` (as MODAClouds' shell did)."""
    if summary.run_sh_mode is not None and summary.run_sh_mode & 0o100 and summary.run_sh_shebang:
        return {"exec": ["./run.sh", *arguments]}
    return {"exec": ["/bin/sh", "run.sh", *arguments]}


def _open(path: str, what: str) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise BadRequest(f"{what} is not a tar archive (tar.gz): {err}") from None


def _members(tar: tarfile.TarFile, what: str):
    """The members one by one; a truncated or corrupt archive is a 400, not a 500."""
    it = iter(tar)
    while True:
        try:
            member = next(it)
        except StopIteration:
            return
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            raise BadRequest(f"{what} is damaged: {err}") from None
        yield member


def _judge(member: tarfile.TarInfo, what: str, summary: Summary) -> str | None:
    """The member's clean relative name (None for the top folder `.`), or BadRequest."""
    raw = member.name
    if member.type not in ALLOWED_TYPES:
        kind = KINDS.get(member.type, f"of tar type {member.type!r}")
        raise BadRequest(f"{what}: {raw[:200]!r} is {kind}; only files and folders are allowed")
    if raw.startswith("/"):
        raise BadRequest(f"{what}: {raw[:200]!r} is an absolute name")
    if "\\" in raw or "\0" in raw:
        raise BadRequest(f"{what}: {raw[:200]!r} holds a backslash or NUL")
    name = raw
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/") if member.isdir() else name
    if name in ("", "."):
        if not member.isdir():
            raise BadRequest(f"{what}: a file with an empty name")
        return None
    parts = name.split("/")
    if ".." in parts:
        raise BadRequest(f"{what}: {raw[:200]!r} contains '..'")
    if "" in parts or "." in parts:
        raise BadRequest(f"{what}: {raw[:200]!r} is not a plain relative name")
    if len(name.encode()) > MAX_NAME or any(len(p.encode()) > MAX_PART for p in parts):
        raise BadRequest(f"{what}: a member name is too long")
    if len(parts) > MAX_DEPTH:
        raise BadRequest(f"{what}: {raw[:200]!r} is nested deeper than {MAX_DEPTH} folders")
    summary.members += 1
    summary.size += member.size if member.isfile() else 0
    if summary.members > defaults.MAX_MEMBERS:
        raise BadRequest(f"{what} has more than {defaults.MAX_MEMBERS} members")
    if summary.size > defaults.MAX_UNPACKED:
        raise BadRequest(f"{what} unpacks to more than {defaults.MAX_UNPACKED} bytes")
    if name == "run.sh" and member.isfile():
        summary.run_sh_mode = member.mode
    return name
