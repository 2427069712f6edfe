"""Lines to a long-running process's stderr that can never stop the process.

A daemon's stderr is often a file on the disk that holds its state (`banyan up >
up.log` beside `./state`); when that disk is full, `print` raises, and a raise in a
loop that frees cores or restarts children would stop the loop for good.
"""

import sys
import traceback


def warn(text: str) -> None:
    """Write one line to stderr, or nothing if it cannot be written."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # a full disk, a closed stream
        pass


def trace() -> None:
    """The exception being handled, as `traceback.print_exc` writes it, or nothing."""
    try:
        traceback.print_exc()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
