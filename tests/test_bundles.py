"""Bundles, inputs and artifacts through a real `banyan up`, with real curl, checked with cat."""

import hashlib
import io
import json
import os
import subprocess
import tarfile

from archives import HOSTILE, build, bundle
from conftest import curl, split_code, wait_until


def submit(up, *form) -> str:
    body, code = split_code(curl("-X", "POST", *form, f"{up.url}/scheduler/jobs/new"))
    assert code == 201, body
    return json.loads(body)["request_id"]


def stopped(up, job_id: str, timeout: float = 20) -> dict:
    def done():
        body, _ = split_code(curl(f"{up.url}/scheduler/jobs/{job_id}/status"))
        st = json.loads(body)
        return st if st["state"] == "stopped" else None
    return wait_until(done, timeout=timeout, what=f"job {job_id} to stop")


def _raw(up, job_id: str, name: str) -> bytes:
    """An artifact's exact bytes (curl() decodes text, which a tar.gz is not)."""
    out = subprocess.run(["curl", "-sf", "--noproxy", "*", f"{up.url}/scheduler/jobs/{job_id}/artifacts/{name}"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out
    return out.stdout


def nothing_left(up) -> None:
    assert os.listdir(up.path("incoming")) == []
    assert os.listdir(up.path("tmp")) == []
    assert os.listdir(up.path("scheduler", "jobs")) == []


def test_bundle_and_input_round_trip_with_artifacts(up, tmp_path):
    blob = os.urandom(300000)  # spans many 64 KiB reads of the upload parser
    b = bundle(tmp_path / "b.tar.gz", more=[("blob", blob)])
    i = build(tmp_path / "i.tar.gz", [("data.txt", b"hello input\n")])
    job_id = submit(up, "-F", f"bundle=@{b}", "-F", f"input=@{i}", "-F", "arguments=-foo 'a b'",
                    "-F", "separate_stderr=1", "-F", "name=round-trip")
    st = stopped(up, job_id)
    assert (st["status"], st["result"], st["name"]) == ("good", "success", "round-trip")
    job = ("processor", "job", job_id)
    assert up.cat(*job, "log") == "args: -foo a b\n"
    assert up.cat(*job, "stderr") == "to-stderr\n"
    assert up.cat(*job, "work", "result.txt") is None and up.cat(*job, "work", "data.txt") == "hello input\n"
    with open(up.path(*job, "work", "blob"), "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest()
    assert os.path.isfile(up.path("scheduler", "jobs", job_id, "bundle.tar.gz"))
    assert _raw(up, job_id, "stdout") == b"args: -foo a b\n"
    assert _raw(up, job_id, "stderr") == b"to-stderr\n"
    assert up.cli("artifact", job_id, "stdout").stdout == "args: -foo a b\n"  # the CLI's client of this route
    with tarfile.open(fileobj=io.BytesIO(_raw(up, job_id, "output"))) as tar:
        assert tar.getnames() == ["out", "out/result.txt"]
        assert tar.extractfile("out/result.txt").read() == b"hello input\n"
    body, code = split_code(curl(f"{up.url}/scheduler/jobs/{job_id}/artifacts/secrets"))
    assert code == 404 and "error" in json.loads(body)


def test_by_default_stderr_goes_to_the_log_and_the_stderr_artifact_is_empty(up, tmp_path):
    b = bundle(tmp_path / "b.tar.gz", run_sh=b"echo out; echo err >&2\n", executable=False)
    job_id = submit(up, "-F", f"bundle=@{b}")
    assert stopped(up, job_id)["status"] == "good"
    assert _raw(up, job_id, "stdout") == b"out\nerr\n"
    assert _raw(up, job_id, "stderr") == b""
    assert json.loads(up.cat("scheduler", "jobs", job_id, "request.json"))["commands"] == [
        {"exec": ["/bin/sh", "run.sh"]}]


def test_output_leaves_out_links_and_special_files_the_job_planted(up, tmp_path):
    b = bundle(tmp_path / "b.tar.gz", run_sh=b"mkdir -p out/d; echo ok > out/d/f; ln -s /etc/passwd out/pw;"
               b" ln -s / out/root; mkfifo out/pipe\n")
    job_id = submit(up, "-F", f"bundle=@{b}")
    assert stopped(up, job_id)["status"] == "good"
    with tarfile.open(fileobj=io.BytesIO(_raw(up, job_id, "output"))) as tar:
        assert sorted(tar.getnames()) == ["out", "out/d", "out/d/f"]


def test_each_hostile_bundle_kind_is_refused_with_400_and_leaves_nothing(up, tmp_path):
    for kind, members in sorted(HOSTILE.items()):
        b = build(tmp_path / f"{kind}.tar.gz", members)
        body, code = split_code(curl("-F", f"bundle=@{b}", f"{up.url}/scheduler/jobs/new"))
        assert code == 400 and json.loads(body)["error"] and body.count("\n") == 1, (kind, body)
        nothing_left(up)
    assert not os.path.exists("/tmp/banyan-escape")


def test_bad_uploads_are_refused_and_leave_nothing(up, tmp_path):
    i = build(tmp_path / "i.tar.gz", [("x", b"x"), ("y", b"", {"type": tarfile.SYMTYPE, "linkname": "/"})])
    b = bundle(tmp_path / "b.tar.gz")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b" + os.urandom(5000))
    big = tmp_path / "big.tar.gz"
    with open(big, "wb") as f:
        f.truncate((256 << 20) + 1)
    cases = [
        (["-F", f"bundle=@{b}", "-F", f"input=@{i}"], 400),      # a link in the input
        (["-F", f"bundle=@{junk}"], 400),                        # not an archive
        (["-F", f"input=@{i}", "-F", "arguments=x"], 400),       # arguments without a bundle
        (["-F", f"bundle=@{b}", "-F", "nonsense=1"], 400),       # unknown field
        (["-F", f"bundle=@{b}", "-F", "request={oops"], 400),    # bad JSON in the request part
        (["-F", f"bundle=@{big}"], 413),                         # over 256 MiB
    ]
    for args, want in cases:
        body, code = split_code(curl(*args, f"{up.url}/scheduler/jobs/new"))
        assert code == want, (args, body)
        assert "error" in json.loads(body)
    nothing_left(up)


def test_json_request_part_with_a_bundle_and_request_id_is_idempotent(up, tmp_path):
    b = bundle(tmp_path / "b.tar.gz", run_sh=b'echo "$GREETING"\n')
    req = json.dumps({"request_id": "bundled-1", "environment": {"GREETING": "hi"}, "arguments": []})
    form = ("-F", f"bundle=@{b}", "-F", f"request={req};type=application/json")
    assert submit(up, *form) == "bundled-1"
    again = curl("-X", "POST", *form, f"{up.url}/scheduler/jobs/new")
    assert split_code(again) == ('{"request_id": "bundled-1"}', 200)
    assert stopped(up, "bundled-1")["status"] == "good"
    assert up.cat("processor", "job", "bundled-1", "log") == "hi\n"


def test_gc_removes_stopped_jobs_and_their_artifacts(up, tmp_path):
    job_id = submit(up, "-F", f"bundle=@{bundle(tmp_path / 'b.tar.gz', run_sh=b'echo kept')}")
    stopped(up, job_id)
    assert up.cli("gc", "--older-than", "1h").stdout == ""
    assert _raw(up, job_id, "stdout") == b"kept\n"
    out = up.cli("gc", "--older-than", "0")
    assert out.stdout.split("\n")[:2] == [f"scheduler {job_id}", f"processor {job_id}"]
    assert not os.path.exists(up.path("scheduler", "jobs", job_id))
    assert not os.path.exists(up.path("processor", "job", job_id))
    assert split_code(curl(f"{up.url}/scheduler/jobs/{job_id}/artifacts/stdout"))[1] == 404


def test_cli_submits_bundle_input_and_arguments_and_fetches_the_output(up, tmp_path):
    b = bundle(tmp_path / "b.tar.gz")
    i = build(tmp_path / "i.tar.gz", [("data.txt", b"from the cli\n")])
    out = up.cli("submit", "--wait", "--bundle", str(b), "--input", str(i), "--name", "cli-bundle",
                 "--", "-foo", "a b")
    job_id = out.stdout.strip()
    assert up.cat("processor", "job", job_id, "log").startswith("args: -foo a b\n")
    assert json.loads(up.cat("scheduler", "jobs", job_id, "request.json"))["name"] == "cli-bundle"
    target = tmp_path / "out.tar.gz"
    up.cli("artifact", job_id, "output", "-o", str(target))
    with tarfile.open(target) as tar:
        assert tar.extractfile("out/result.txt").read() == b"from the cli\n"
    bad = up.cli("submit", "--bundle", str(tmp_path / "missing.tar.gz"), check=False)
    assert bad.returncode == 2 and "no such file" in bad.stderr
