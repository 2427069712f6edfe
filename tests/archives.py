"""Build tar.gz archives for tests, good and hostile, with tarfile (headers only where that suffices)."""

import io
import tarfile

RUN_SH = b'#!/bin/sh\necho "args: $*"\nmkdir -p out\ncp data.txt out/result.txt\necho to-stderr >&2\n'


def build(path, members) -> str:
    """`members`: (name, data bytes | None for a folder, extra TarInfo attributes)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data, *extra in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            else:
                info.size, info.mode = len(data), 0o644
            for key, value in (extra[0] if extra else {}).items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data) if data is not None and info.isreg() else None)
    return str(path)


def bundle(path, run_sh: bytes = RUN_SH, executable: bool = True, more=()) -> str:
    return build(path, [("run.sh", run_sh, {"mode": 0o755 if executable else 0o644}), *more])


HOSTILE = {
    "absolute": [("run.sh", b"true\n"), ("/tmp/banyan-escape", b"x")],
    "dotdot": [("run.sh", b"true\n"), ("../../banyan-escape", b"x")],
    "dotdot-inside": [("run.sh", b"true\n"), ("a/../../banyan-escape", b"x")],
    "symlink": [("run.sh", b"true\n"), ("link", b"", {"type": tarfile.SYMTYPE, "linkname": "/etc"})],
    "relative-symlink": [("run.sh", b"true\n"), ("link", b"", {"type": tarfile.SYMTYPE, "linkname": "a"})],
    "hardlink": [("run.sh", b"true\n"), ("hard", b"", {"type": tarfile.LNKTYPE, "linkname": "/etc/passwd"})],
    "char-device": [("run.sh", b"true\n"), ("null", b"", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3})],
    "block-device": [("run.sh", b"true\n"), ("sda", b"", {"type": tarfile.BLKTYPE, "devmajor": 8})],
    "fifo": [("run.sh", b"true\n"), ("pipe", b"", {"type": tarfile.FIFOTYPE})],
    "no-run.sh": [("other.sh", b"true\n")],
    "run.sh-folder": [("run.sh", None)],
}
"""Each archive kind the API must refuse with 400 (and the node refuse to unpack)."""
