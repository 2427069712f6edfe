"""Fixtures that start the real system: `banyan up` in a temp folder, on loopback only."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

STRICT = os.environ.get("BANYAN_REQUIRE_TOOLS") == "1"
"""Set by .ci/run: a test that would skip for a missing program fails instead."""


def need(program: str) -> str:
    """The path of `program`, or skip (fail under BANYAN_REQUIRE_TOOLS=1) with the reason."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (apt-get install it, or run .ci/run)"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll `predicate` until it returns a true value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """True while `pid` runs; False once it has ended (a zombie) or is gone, even when it
    goes between two questions (`pid_exists`, then `Process`, raced with its reaping)."""
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def banyan_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "banyan", *args]


class Up:
    """A running `banyan up`: its URL, state folder and process."""

    def __init__(self, state: str, port: int, extra: tuple = (), env: dict | None = None):
        self.state = state
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ, BANYAN_URL=self.url, BANYAN_STATE=state,
                        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
        self.log = open(os.path.join(os.path.dirname(state), "up.log"), "ab")
        self.proc = subprocess.Popen(
            banyan_cmd("--state", state, "up", "--listen", f"127.0.0.1:{port}", *extra),
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(self.answers, timeout=30, what="banyan up to answer")
        except BaseException:  # no fixture teardown will stop it: `up` would restart its children forever
            self.stop()
            raise

    def answers(self) -> bool:
        assert self.proc.poll() is None, f"banyan up exited with {self.proc.returncode}"
        try:
            out = subprocess.run(["curl", "-sf", "--noproxy", "*", f"{self.url}/scheduler/nodes"],
                                 capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return out.returncode == 0 and b'"local"' in out.stdout

    def children(self) -> dict:
        """Its live child processes by role (`serve`, `scheduler`, `processor`) → psutil
        Process; a role is missing while `up` restarts it."""
        import psutil
        out = {}
        for child in psutil.Process(self.proc.pid).children():
            try:
                cmd = child.cmdline()
            except psutil.Error:  # a zombie not yet reaped by up: a child that died
                continue
            role = next((w for w in ("serve", "scheduler", "processor") if w in cmd), None)
            if role:
                out[role] = child
        return out

    def path(self, *parts: str) -> str:
        return os.path.join(self.state, *parts)

    def cat(self, *parts: str) -> str | None:
        try:
            with open(self.path(*parts)) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def cli(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(banyan_cmd(*args), env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"banyan {' '.join(args)} exited {out.returncode}: {out.stderr}")
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()


def curl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the real curl on loopback; `-s --noproxy '*'` always, `-w` code on the last line."""
    need("curl")
    return subprocess.run(["curl", "-s", "--noproxy", "*", "-w", "\n%{http_code}", *args],
                          capture_output=True, text=True, timeout=timeout)


def split_code(out: subprocess.CompletedProcess) -> tuple[str, int]:
    body, _, code = out.stdout.rpartition("\n")
    return body, int(code)


@pytest.fixture
def spool(tmp_path):
    """A fresh state folder, for in-process tests."""
    from banyan.spool import Spool
    return Spool(str(tmp_path / "state"))


@pytest.fixture
def app(spool):
    """The API app on that folder, called in-process (tests/wsgi_client.py)."""
    from banyan.api import make_app
    return make_app(spool)


@pytest.fixture
def up(tmp_path):
    need("curl")
    system = Up(str(tmp_path / "state"), free_port())
    yield system
    system.stop()
