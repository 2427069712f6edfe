"""`incoming/`: requests waiting for intake, and `rejected/` for those that failed.

Writers (the API, the CGI, anyone with `mv`) put whole files here; the pass treats
every file as hostile, as Postfix's pickup treats maildrop: it checks the name,
`lstat`s, opens regular files only with O_NOFOLLOW|O_NONBLOCK, and caps the size.
"""

import os
import stat

from ..defaults import MAX_BODY
from ..errors import BadRequest
from . import ids
from .atomic import FULL, fsync_dir, no_space, read_text, tmp_name, write_text
from .paths import Layout


class Incoming:
    def __init__(self, layout: Layout):
        self.layout = layout

    def submit(self, job_id: str, data: bytes) -> bool:
        """Put a request in durably (fsync file and folder); False if the id is already there."""
        lay = self.layout
        final = lay.incoming_file(job_id)
        tmp = tmp_name(lay.tmp, final)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, final)
            except FileExistsError:
                return False
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
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise BadRequest(f"request is over the limit of {MAX_BODY} bytes")
        return data

    def done(self, job_id: str) -> None:
        try:
            os.unlink(self.layout.incoming_file(job_id))
        except FileNotFoundError:
            pass

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

    def rejected_reason(self, job_id: str) -> str | None:
        return read_text(self.layout.rejected_file(job_id, ".reason"))
