#!/usr/bin/env python3
"""HTTP submit rate: Banyan's API against a bare bottle app doing one fsynced write per POST.

    python3 bench/http_submit.py [--seconds 5] [--clients 1 4] [--runs 3]

Each run starts `banyan serve` (API alone: submissions pile up in incoming/) and
bench/bare_app.py (same cheroot server), each on a fresh folder, then for each
concurrency drives Banyan, then the baseline (the other way round in odd runs, so
neither always follows the other's fsyncs), for `--seconds` with that many
keep-alive clients POSTing a `true` job to /scheduler/jobs/new (every answer 201).
Prints RESULT lines in requests/s.
"""

import argparse
import os
import time

from harness import PY, Service, State, answers, banyan, free_port, load, note, rate, report

HERE = os.path.dirname(os.path.abspath(__file__))


def one_run(seconds: float, clients: list[int], bare_first: bool) -> dict[tuple[str, int], float]:
    state, bare_dir = State(), State("banyan-bench-bare-")
    port, bport = free_port(), free_port()
    api = Service(banyan(state.root, "serve", "--listen", f"127.0.0.1:{port}"), state.log("api.log"))
    bare = Service([PY, os.path.join(HERE, "bare_app.py"), "--spool", bare_dir.root,
                    "--listen", f"127.0.0.1:{bport}"], bare_dir.log("bare.log"))
    try:
        api.wait(lambda: answers(port, "/scheduler/jobs?limit=1"))
        bare.wait(lambda: answers(bport))
        out = {}
        order = [("banyan", port), ("bare", bport)]
        for c in clients:
            for name, p in (order[::-1] if bare_first else order):
                time.sleep(0.2)  # let the previous load's fsyncs settle
                out[name, c] = rate(p, seconds, c)
        return out
    finally:
        api.stop()
        bare.stop()
        state.remove()
        bare_dir.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    note(f"HTTP submit: {args.seconds} s per figure, runs={args.runs}, load {load()}")
    runs = [one_run(args.seconds, args.clients, bare_first=r % 2 == 1) for r in range(args.runs)]
    for c in args.clients:
        report("banyan serve", f"HTTP submit c={c}", "req/s", [r["banyan", c] for r in runs])
        report("bare bottle+cheroot fsync", f"HTTP submit c={c}", "req/s", [r["bare", c] for r in runs])


if __name__ == "__main__":
    main()
