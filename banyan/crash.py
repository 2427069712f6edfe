"""Named crash points for the crash tests: `BANYAN_CRASH_AT=<name>` makes the process
`os._exit(99)` when it reaches that point, as if killed with -9 right there.

Read once at import; with the variable unset (always, outside tests) a point costs
one comparison with None.
"""

import os

_AT = os.environ.get("BANYAN_CRASH_AT") or None


def point(name: str) -> None:
    if _AT == name:
        os._exit(99)
