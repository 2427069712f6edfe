"""A job's artifacts on its node: `stdout` (the log), `stderr`, and `output` (a tar.gz of work/out/).

A fixed set of names, each served from a fixed path (RELIABILITY §3.1). The job owns
`work/` and may plant links there, so `output` walks `out/` by file descriptors with
O_NOFOLLOW and takes only regular files and folders: a link to /etc/shadow is left out,
never followed. The archive is built in tmp/ and unlinked at once, so an aborted
download leaves nothing behind.
"""

import os
import stat
import tarfile

from ..errors import NotFound
from ..spool.atomic import tmp_name
from ..spool.procjobs import ProcessorJobs, open_regular

NAMES = ("stdout", "stderr", "output")
CHUNK = 1 << 16
MAX_DEPTH = 64
TYPES = {"stdout": "text/plain; charset=utf-8", "stderr": "text/plain; charset=utf-8",
         "output": "application/gzip"}


def open_artifact(jobs: ProcessorJobs, job_id: str, name: str):
    """(file object positioned at 0, size, content type); NotFound for an unknown job or name."""
    if name not in NAMES:
        raise NotFound(f"no artifact {name!r}: there are {', '.join(NAMES)}")
    if not jobs.exists(job_id):
        raise NotFound(f"no job {job_id} on this node")
    if name == "output":
        f = _output(jobs, job_id)
    else:
        f = open_regular(jobs.path(job_id, "log" if name == "stdout" else "stderr"))
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    return f, size, TYPES[name]


def chunks(f):
    """Stream a file object and close it, even when the client goes away."""
    try:
        while data := f.read(CHUNK):
            yield data
    finally:
        f.close()


def _output(jobs: ProcessorJobs, job_id: str):
    """work/out/ as a tar.gz in an already unlinked temp file."""
    tmp = tmp_name(jobs.layout.tmp, f"{job_id}-output.tar.gz")
    f = open(tmp, "xb+")
    os.unlink(tmp)
    try:
        with tarfile.open(fileobj=f, mode="w:gz") as tar:
            try:
                work = os.open(jobs.path(job_id, "work"), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            except OSError:
                return f
            try:
                _add(tar, work, "out", "out", 0)
            finally:
                os.close(work)
    except BaseException:
        f.close()
        raise
    return f


def _add(tar: tarfile.TarFile, parent_fd: int, name: str, arcname: str, depth: int) -> None:
    """Add `name` (relative to parent_fd) if it is a regular file or folder; links are skipped."""
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode) and depth < MAX_DEPTH:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
        except OSError:
            return
        try:
            info = tarfile.TarInfo(arcname)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(st.st_mtime)
            tar.addfile(info)
            with os.scandir(fd) as entries:
                names = sorted(e.name for e in entries)
            for child in names:
                _add(tar, fd, child, f"{arcname}/{child}", depth + 1)
        finally:
            os.close(fd)
    elif stat.S_ISREG(st.st_mode):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=parent_fd)
        except OSError:
            return
        with os.fdopen(fd, "rb") as src:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return
            info = tarfile.TarInfo(arcname)
            info.size, info.mtime = st.st_size, int(st.st_mtime)
            info.mode = 0o755 if st.st_mode & 0o100 else 0o644
            tar.addfile(info, src)
