"""The MODAClouds batch engine README's curl examples, run as written (host, port, ids changed)."""

import email.utils
import io
import json
import subprocess
import tarfile

import pytest
from archives import build, bundle
from conftest import Up, free_port, need, wait_until
from receivers import Receiver

RUN_SH = (b'#!/bin/sh\necho "args: $*"\necho "input=$MODACLOUDS_BATCH_INPUT"\n'
          b'echo "output=$MODACLOUDS_BATCH_OUTPUT"\necho "scratch=$MODACLOUDS_BATCH_SCRATCH_DIRECTORY"\n'
          b'tar xzf "$MODACLOUDS_BATCH_INPUT" -O > "$MODACLOUDS_BATCH_OUTPUT/copy.txt"\necho oops >&2\n')


@pytest.fixture
def engine(tmp_path):
    """`banyan up` admitting loopback notifications (localhost may resolve to either family)."""
    need("curl")
    system = Up(str(tmp_path / "state"), free_port(), env={"BANYAN_NOTIFY_ALLOW": "127.0.0.0/8,::1/128"})
    yield system
    system.stop()


def sh(command: str, cwd) -> tuple[int, bytes]:
    """A README line through /bin/sh, as a user pastes it; (HTTP code from -w, body)."""
    out = subprocess.run(["sh", "-c", command + " -s -w '\\n%{http_code}' --noproxy '*'"], cwd=cwd,
                         capture_output=True, timeout=30)
    body, _, code = out.stdout.rpartition(b"\n")
    return int(code), body


def test_readme_examples(engine, tmp_path):
    port = engine.port
    hook = Receiver()
    try:
        bundle(tmp_path / "job.tar.gz", run_sh=RUN_SH)
        build(tmp_path / "input.tar.gz", [("data.txt", b"from the input\n")])
        notify = hook.url.replace("127.0.0.1", "localhost")
        code, body = sh(f"curl -v -F 'job-bundle=@job.tar.gz' \\\n"
                        f"     -F 'job-name=test1' \\\n"
                        f"     -F 'job-arguments=-foo' \\\n"
                        f"     -F 'job-input=@input.tar.gz' \\\n"
                        f"     -F 'job-notification={notify}' \\\n"
                        f"     -X POST http://localhost:{port}/jobs", tmp_path)
        assert code == 200, body
        answer = json.loads(body)
        job_id = answer["job_id"]
        assert answer == {"job_id": job_id, "backend_id": job_id}

        wait_until(lambda: hook.bodies, timeout=20, what="the completion notification")
        assert hook.bodies[0]["job-uuid"] == job_id and hook.bodies[0]["retcode"] == 0

        code, body = sh(f"curl http://localhost:{port}/jobs", tmp_path)
        assert code == 200 and json.loads(body) == [{"id": job_id, "job_status": "completed", "job_name": "test1"}]

        code, body = sh(f"curl http://localhost:{port}/jobs/{job_id}", tmp_path)
        info = json.loads(body)
        assert (info["id"], info["job_status"], info["exit_status"], info["exit_by_signal"],
                info["job_run_count"], info["job_priority"]) == (job_id, "completed", 0, False, 1, 0)
        started = email.utils.parsedate_to_datetime(info["job_start_date"]).timestamp()
        assert started - 1 <= info["job_completion_date"] <= started + 20
        assert info["previous_job_status"] == "running"

        code, out = sh(f"curl http://localhost:{port}/jobs/{job_id}/artifacts/stdout", tmp_path)
        job_dir = engine.path("processor", "job", job_id)
        assert out.decode().splitlines() == [
            "args: -foo", f"input={job_dir}/input.tar.gz", f"output={job_dir}/work/out",
            f"scratch={job_dir}/work/scratch", "oops"]
        assert sh(f"curl http://localhost:{port}/jobs/{job_id}/artifacts/stderr", tmp_path) == (200, b"")
        code, out = sh(f"curl http://localhost:{port}/jobs/{job_id}/artifacts/output", tmp_path)
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            assert tar.extractfile("out/copy.txt").read() == b"from the input\n"

        code, body = sh(f"curl http://localhost:{port}/jobs/no-such-job", tmp_path)
        assert code == 404 and "error" in json.loads(body)
    finally:
        hook.close()


def test_readme_job_control_with_get_put_and_post(engine, tmp_path):
    port = engine.port
    bundle(tmp_path / "job.tar.gz", run_sh=b"sleep 60\n")
    code, body = sh(f"curl -v -F 'job-bundle=@job.tar.gz' -X POST http://localhost:{port}/jobs", tmp_path)
    runner = json.loads(body)["job_id"]
    status = lambda job: json.loads(sh(f"curl http://localhost:{port}/jobs/{job}", tmp_path)[1])["job_status"]
    wait_until(lambda: status(runner) == "running", what="running")
    code, body = sh(f"curl -X POST -H 'Content-Type: application/json' -d '{{\"commands\": [{{\"exec\": "
                    f"[\"true\"]}}], \"depends_on\": [\"{runner}\"]}}' "
                    f"http://localhost:{port}/scheduler/jobs/new", tmp_path)
    waiter = json.loads(body)["request_id"]
    steps = [(waiter, "hold", "GET", "held", "held"), (waiter, "release", "PUT", "idle", "waiting"),
             (runner, "suspend", "POST", "running", "suspended"), (runner, "continue", "GET", "running", "running"),
             (runner, "remove", "GET", "removed", "stopped")]
    for job, action, method, want, state in steps:
        code, body = sh(f"curl -X {method} http://localhost:{port}/jobs/{job}/{action}", tmp_path)
        assert (code, json.loads(body)) == (200, {"result": [job, action]}), (action, body)
        wait_until(lambda: status(job) == want and engine.cat("scheduler", "jobs", job, "state") == state + "\n",
                   what=f"{action} → {want} ({state})")
    assert engine.cat("processor", "job", runner, "signal") == "TERM\n"
    wait_until(lambda: status(waiter) == "removed", what="the dependent cancelled")
    code, body = sh(f"curl http://localhost:{port}/jobs/{runner}/explode", tmp_path)
    assert code == 400 and "error" in json.loads(body)


def test_bundle_as_urlencoded_field_as_the_first_readme_had_it(engine, tmp_path):
    blob = bytes(range(256)) * 600  # %-escapes across the parser's 64 KiB reads
    bundle(tmp_path / "job.tar.gz", run_sh=b"#!/bin/sh\nwc -c < blob\n", more=[("blob", blob)])
    code, body = sh(f"curl -v --data-urlencode 'job-bundle@job.tar.gz' -X POST http://localhost:{engine.port}/jobs",
                    tmp_path)
    assert code == 200, body
    job_id = json.loads(body)["job_id"]
    wait_until(lambda: engine.cat("scheduler", "jobs", job_id, "state") == "stopped\n", what="the job")
    assert engine.cat("processor", "job", job_id, "log") == f"{len(blob)}\n"
    with open(engine.path("scheduler", "jobs", job_id, "bundle.tar.gz"), "rb") as got:
        assert got.read() == (tmp_path / "job.tar.gz").read_bytes()
