"""How Banyan is deployed: cron passes only (no daemon), and the systemd units in contrib/."""

import glob
import json
import os
import subprocess

from conftest import ROOT, banyan_cmd, curl, free_port, need, split_code, wait_until

UNITS = os.path.join(ROOT, "contrib", "systemd")


def cat(state: str, job_id: str, name: str) -> str | None:
    try:
        with open(os.path.join(state, "scheduler", "jobs", job_id, name)) as f:
            return f.read()
    except FileNotFoundError:
        return None


def test_cron_passes_alone_run_every_job_to_the_end(tmp_path):
    """The README's crontab line, sped up: only `banyan scheduler --once`, never the daemon."""
    need("curl")
    state = str(tmp_path / "state")
    env = dict(os.environ, PYTHONPATH=ROOT)
    api, node = free_port(), free_port()
    url = f"http://127.0.0.1:{api}"
    log = open(tmp_path / "procs.log", "ab")
    procs = [subprocess.Popen(banyan_cmd("--state", state, *args), env=env, stdout=log,
                              stderr=subprocess.STDOUT)
             for args in (("serve", "--listen", f"127.0.0.1:{api}"),
                          ("processor", "--listen", f"127.0.0.1:{node}", "--name", "n1",
                           "--scheduler", url))]
    try:
        wait_until(lambda: '"n1"' in split_code(curl(f"{url}/scheduler/nodes"))[0], timeout=30,
                   what="the processor to register")
        ids = []
        for i in range(5):
            body, code = split_code(curl("-X", "POST", "-d", f"command=echo job{i}",
                                         f"{url}/scheduler/jobs/new"))
            assert code == 201, body
            ids.append(json.loads(body)["request_id"])

        def all_stopped():
            out = subprocess.run(banyan_cmd("--state", state, "scheduler", "--once"), env=env,
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            return all(cat(state, j, "state") == "stopped\n" for j in ids)
        wait_until(all_stopped, timeout=60, interval=0.2, what="cron passes to finish every job")
        for j in ids:
            assert cat(state, j, "status") == "good\n"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        log.close()


def test_systemd_units_verify(tmp_path):
    """`systemd-analyze verify` on each unit, with ExecStart pointed at a stand-in `banyan`;
    it exits 0 even on unknown keys, so any complaint about our files fails the test."""
    analyze = need("systemd-analyze")
    stand_in = tmp_path / "banyan"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    units = sorted(glob.glob(os.path.join(UNITS, "*.service")))
    assert [os.path.basename(u) for u in units] == [
        "banyan-processor.service", "banyan-scheduler.service", "banyan-serve.service"]
    copies = []
    for unit in units:
        text = open(unit).read()
        assert "ExecStart=/usr/local/bin/banyan " in text
        copy = tmp_path / os.path.basename(unit)
        copy.write_text(text.replace("/usr/local/bin/banyan", str(stand_in)))
        copies.append(str(copy))
    out = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (out.stdout + out.stderr).splitlines() if str(tmp_path) in line]
    assert out.returncode == 0 and not complaints, out.stdout + out.stderr
    processor = open(os.path.join(UNITS, "banyan-processor.service")).read()
    assert "KillMode=process" in processor and "OOMPolicy=continue" in processor
