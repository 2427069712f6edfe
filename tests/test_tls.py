"""TLS end to end: a CA made by openssl, `banyan serve` and `banyan processor` on https,
the scheduler checking the node against the CA file. Loopback only."""

import json
import os
import subprocess

import pytest
from conftest import ROOT, banyan_cmd, curl, free_port, need, split_code, wait_until

from banyan.scheduler.nodeclient import NodeClient, NodeError


def openssl(*args: str, cwd: str) -> None:
    out = subprocess.run([need("openssl"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


@pytest.fixture
def pki(tmp_path):
    """ca.pem; node.pem/node.key for 127.0.0.1 signed by it; other.pem for another name."""
    d = str(tmp_path)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=banyan test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", *ec, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "node.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    with open(os.path.join(d, "other.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:other.invalid\n")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "other.pem", "-days", "2", "-extfile", "other.cnf", cwd=d)
    return {k: os.path.join(d, f) for k, f in
            (("ca", "ca.pem"), ("cert", "node.pem"), ("key", "node.key"), ("other", "other.pem"))}


class Procs:
    def __init__(self, tmp_path):
        self.env = dict(os.environ, PYTHONPATH=ROOT)
        self.env.pop("BANYAN_CA_FILE", None)
        self.procs = []
        self.log = open(tmp_path / "procs.log", "ab")

    def start(self, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(banyan_cmd(*args), env=self.env, stdout=self.log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=20)
        self.log.close()


@pytest.fixture
def procs(tmp_path):
    p = Procs(tmp_path)
    yield p
    p.stop()


def answers(url: str, ca: str) -> bool:
    return split_code(curl("--cacert", ca, url))[1] == 200


def test_a_job_runs_over_https_end_to_end(tmp_path, pki, procs):
    need("curl")
    state = str(tmp_path / "state")
    api, node = free_port(), free_port()
    api_url, node_url = f"https://127.0.0.1:{api}", f"https://127.0.0.1:{node}"
    tls = ("--certfile", pki["cert"], "--keyfile", pki["key"], "--cafile", pki["ca"])
    procs.start("--state", state, "serve", "--listen", f"127.0.0.1:{api}", *tls)
    wait_until(lambda: answers(f"{api_url}/scheduler/nodes", pki["ca"]), timeout=20, what="https serve")
    procs.start("--state", state, "processor", "--listen", f"127.0.0.1:{node}", "--name", "n1",
                "--scheduler", api_url, *tls)
    procs.start("--state", state, "scheduler", "--cafile", pki["ca"])
    wait_until(lambda: os.path.exists(os.path.join(state, "scheduler", "nodes", "n1", "uri")),
               timeout=20, what="the processor to register over https")
    assert open(os.path.join(state, "scheduler", "nodes", "n1", "uri")).read().strip() == node_url

    assert curl(f"{api_url}/scheduler/nodes").returncode == 60  # curl: the CA is not the system's
    body, code = split_code(curl("--cacert", pki["ca"], "-X", "POST", "-H", "Content-Type: application/json",
                                 "-d", '{"commands": [{"exec": ["echo", "over tls"]}]}',
                                 f"{api_url}/scheduler/jobs/new"))
    assert code == 201, body
    job_id = json.loads(body)["request_id"]

    def stopped():
        b, c = split_code(curl("--cacert", pki["ca"], f"{api_url}/scheduler/jobs/{job_id}/status"))
        return c == 200 and json.loads(b)["state"] == "stopped" and json.loads(b)
    st = wait_until(stopped, timeout=30, what="the job to stop")
    assert st["status"] == "good" and st["node"] == "n1"
    body, code = split_code(curl("--cacert", pki["ca"], f"{api_url}/scheduler/jobs/{job_id}/log"))
    assert code == 200 and body == "over tls\n"


def test_node_client_checks_the_node_against_the_ca_file(tmp_path, pki, procs, monkeypatch):
    port = free_port()
    procs.start("--state", str(tmp_path / "node"), "processor", "--listen", f"127.0.0.1:{port}",
                "--certfile", pki["cert"], "--keyfile", pki["key"])
    uri = f"https://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{uri}/processor/health", pki["ca"]), timeout=20, what="https processor")
    monkeypatch.delenv("BANYAN_CA_FILE", raising=False)
    with pytest.raises(NodeError, match="CERTIFICATE_VERIFY_FAILED"):
        NodeClient(uri).health()
    monkeypatch.setenv("BANYAN_CA_FILE", pki["ca"])
    assert NodeClient(uri).health()["cores"] >= 1
    wrong = free_port()  # signed by the CA, but for another name: refused as well
    procs.start("--state", str(tmp_path / "node2"), "processor", "--listen", f"127.0.0.1:{wrong}",
                "--certfile", pki["other"], "--keyfile", pki["key"])
    wait_until(lambda: curl("-k", f"https://127.0.0.1:{wrong}/processor/health").returncode == 0,
               timeout=20, what="second processor")
    with pytest.raises(NodeError, match="mismatch"):
        NodeClient(f"https://127.0.0.1:{wrong}").health()


def test_unusable_certificate_is_refused_at_start(tmp_path, pki):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(banyan_cmd("--state", str(tmp_path / "s"), "serve", "--listen",
                                    f"127.0.0.1:{free_port()}", "--certfile", pki["ca"],
                                    "--keyfile", pki["key"]),
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "cannot use certificate" in out.stderr, out.stderr
