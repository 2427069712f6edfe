"""bench/compare.py still runs against the code it measures: every Banyan part, tiny sizes.

The figures are not checked (a shared machine makes them noise at this size); what is
checked is that each part ran real jobs to the end (the parts fail otherwise: every job
must stop `good`, every queued job must be placed by the timed pass) and that the table
has a value and a verdict for each figure it can compute without the peers.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_compare_runs_every_banyan_part_and_prints_the_table(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "compare.py"), "--jobs", "12", "--runs", "1",
         "--samples", "2", "--cron-jobs", "4", "--seconds", "0.3", "--queued", "10",
         "--finished", "0,120", "--peers", "none", "--parts", "e2e,cron,http,pass,floor"],
        cwd=tmp_path, capture_output=True, text=True, timeout=170)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    table = {row.split(" | ")[0].lstrip("| "): row.split(" | ")
             for row in out.stdout.splitlines() if row.startswith("| ") and "---" not in row}
    number = re.compile(r"^[\d,]+\.\d ")
    for figure in ("end-to-end, `banyan up` vs task-spooler", "end-to-end, cron `--once` passes vs task-spooler",
                   "submit→start p50 vs task-spooler", "HTTP submit, 4 clients vs bare bottle",
                   "pass placing the queue, 120 finished vs none", "the pass's own CPU, 120 finished vs none",
                   "scheduler peak RSS, 120 finished"):
        assert number.match(table[figure][1]), table[figure]
    for figure in ("CPU a job: the contract's files alone vs all of `banyan up`",
                   "CPU a job: `true` itself vs all of `banyan up`"):
        assert number.match(table[figure][1]) and number.match(table[figure][2]), table[figure]
    assert table["end-to-end, `banyan up` vs task-spooler"][2] == "not run"
    assert table["HTTP submit, 1 client vs bare bottle"][5] in ("**met**", "missed")
    assert table["pass placing the queue, 120 finished vs none"][5] in ("**met**", "missed")
    assert table["CGI status GET vs `import bottle` CGI"][1] == "not run"
    cpu = re.search(r"^# CPU per job, ms: api [\d.]+, scheduler [\d.]+, processor [\d.]+, "
                    r"supervisors [\d.]+, jobs [\d.]+, bench [\d.]+; all ([\d.]+)$", out.stdout, re.M)
    assert cpu and float(cpu.group(1)) > 0, "no CPU per job of each part of banyan up"
