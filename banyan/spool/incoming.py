"""`incoming/`: requests waiting for intake, and `rejected/` for those that failed.

Writers (the API, the CGI, anyone with `mv`) put whole files here; the pass treats
every file as hostile, as Postfix's pickup treats maildrop: it checks the name,
`lstat`s, opens regular files only with O_NOFOLLOW|O_NONBLOCK, and caps the size.
"""

import os
import shutil
import stat
import time

from ..defaults import MAX_BODY
from ..errors import BadRequest
from . import ids
from .atomic import FULL, fsync_dir, no_space, read_text, tmp_name, write_text
from .paths import Layout

ORPHAN_AGE = 600.0
"""Seconds after which a submission's `.files` folder with no `.job` beside it is a crash's leftover."""


class Incoming:
    def __init__(self, layout: Layout):
        self.layout = layout

    def stage(self) -> str:
        """A new empty folder in tmp/ for a submission's files; `submit` moves it into place."""
        path = tmp_name(self.layout.tmp, "upload") + ".d"
        os.mkdir(path)
        return path

    def submit(self, job_id: str, data: bytes, files: str | None = None) -> bool:
        """Put a request in durably (fsync file and folder); False if the id is already there.

        `files` (a folder from `stage`) becomes `<id>.files/` first, so intake, which
        starts from the `.job`, always finds a request's bundle and input beside it.
        """
        lay = self.layout
        final = lay.incoming_file(job_id)
        tmp = tmp_name(lay.tmp, final)
        placed = None
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            if files is not None:
                _fsync_tree(files)
                try:
                    os.rename(files, lay.incoming_files(job_id))
                except OSError as err:
                    if err.errno in FULL:
                        raise
                    return False  # a submission with this id is here already, or on its way
                placed = lay.incoming_files(job_id)
            try:
                os.link(tmp, final)
            except FileExistsError:
                return False
            placed = None
            fsync_dir(lay.incoming)
        except OSError as err:
            if err.errno in FULL:
                raise no_space(err, final) from err
            raise
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if placed:
                shutil.rmtree(placed, ignore_errors=True)
        return True

    def has(self, job_id: str) -> bool:
        return os.path.lexists(self.layout.incoming_file(job_id))

    def holder(self, job_id: str) -> str | None:
        """The file that may hold `job_id`: its own, or that of a graph or array `<gid>.<name>`."""
        if self.has(job_id):
            return job_id
        parts = job_id.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if ids.valid(prefix) and self.has(prefix):
                return prefix
        return None

    def ids(self) -> list[str]:
        """Ids of files ready for intake, in `ls` order; dotfiles are writes in progress."""
        out = []
        for name in sorted(os.listdir(self.layout.incoming)):
            if name.startswith(".") or not name.endswith(".job"):
                continue
            out.append(name[:-4])
        return out

    def read(self, job_id: str) -> bytes:
        """Read a dropped file safely; BadRequest says why it cannot be taken."""
        if not ids.valid(job_id):
            raise BadRequest(f"invalid id {job_id[:80]!r} in the file name")
        path = self.layout.incoming_file(job_id)
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise BadRequest("not a regular file")
        if st.st_size > MAX_BODY:
            raise BadRequest(f"request is {st.st_size} bytes, over the limit of {MAX_BODY}")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:  # os.read sized by the file: a file object's read(MAX_BODY + 1) cost 0.3 ms here
            data = os.read(fd, st.st_size + 1)
            while len(data) <= MAX_BODY and (more := os.read(fd, 1 << 16)):  # it grew since
                data += more
        finally:
            os.close(fd)
        if len(data) > MAX_BODY:
            raise BadRequest(f"request is over the limit of {MAX_BODY} bytes")
        return data

    def files(self, job_id: str) -> str | None:
        """The folder of the request's bundle and input, if it came with any."""
        path = self.layout.incoming_files(job_id)
        try:
            return path if stat.S_ISDIR(os.lstat(path).st_mode) else None  # not a link to one
        except FileNotFoundError:
            return None

    def done(self, job_id: str, files: str | None) -> None:
        """Remove a request that intake has taken, and `files`, the folder of its archives
        that `files()` found (a submission adds one only before its `.job`)."""
        try:
            os.unlink(self.layout.incoming_file(job_id))
        except FileNotFoundError:
            pass
        if files:
            shutil.rmtree(files, ignore_errors=True)

    def _drop_files(self, job_id: str) -> None:
        if ids.valid(job_id) and self.files(job_id):
            shutil.rmtree(self.layout.incoming_files(job_id), ignore_errors=True)

    def clean_orphans(self, now: float | None = None) -> int:
        """Remove `.files` folders whose `.job` never came (a crash between the two renames)."""
        now = time.time() if now is None else now
        removed = 0
        for name in os.listdir(self.layout.incoming):
            job_id = name[:-6]
            if not name.endswith(".files") or not ids.valid(job_id) or self.has(job_id):
                continue
            try:
                if now - os.lstat(self.layout.incoming_files(job_id)).st_mtime < ORPHAN_AGE:
                    continue
            except FileNotFoundError:
                continue
            self._drop_files(job_id)
            removed += 1
        return removed

    def reject(self, name: str, reason: str) -> None:
        """Move a bad file to rejected/<id>.job with rejected/<id>.reason beside it.

        A name that is not a valid id cannot stand in rejected/ (it would be a path
        from user input), so such a file is renamed to a fresh id first.
        """
        src = os.path.join(self.layout.incoming, name + ".job")
        safe = name if ids.valid(name) else ids.new_id()
        write_text(self.layout.tmp, self.layout.rejected_file(safe, ".reason"),
                   reason.replace("\n", " "))
        try:
            os.rename(src, self.layout.rejected_file(safe, ".job"))
        except FileNotFoundError:
            pass
        self._drop_files(name)

    def rejected_ids(self) -> list[str]:
        return sorted(n[:-7] for n in os.listdir(self.layout.rejected)
                      if n.endswith(".reason") and ids.valid(n[:-7]))

    def rejected_mtime(self, job_id: str) -> float:
        return os.lstat(self.layout.rejected_file(job_id, ".reason")).st_mtime

    def remove_rejected(self, job_id: str) -> None:
        for ext in (".job", ".reason"):
            try:
                os.unlink(self.layout.rejected_file(job_id, ext))
            except FileNotFoundError:
                pass

    def rejected_reason(self, job_id: str) -> str | None:
        return read_text(self.layout.rejected_file(job_id, ".reason"))


def _fsync_tree(folder: str) -> None:
    """fsync a staged folder's files and the folder itself, before it is renamed into place."""
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_dir(folder)
