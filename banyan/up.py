"""`banyan up`: the all-in-one system: API, scheduler daemon and one local processor.

Three child processes, so they use both cores and each can be killed and restarted
alone (jobs live in their supervisors, not in any of these). The processor registers
this machine as node `local` (all its cores and memory) and heartbeats, and drops its
reports of job starts and ends straight into the shared state folder; `up` restarts
a child that dies, and stops all three on SIGTERM or Ctrl-C. Children get SIGTERM if `up` itself is killed (PR_SET_PDEATHSIG).
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from . import defaults, logline
from .auth import refuse_to_listen
from .spool import Spool

PR_SET_PDEATHSIG = 1
RESTART_DELAY = 0.5
UP_NODE_TOKEN = "up-local"
"""Name of the node token `up` makes at each start when tokens exist (the old one stops working)."""


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_http(url: str, timeout: float) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            opener.open(url, timeout=1).close()
            return True
        except OSError as err:
            if getattr(err, "code", None):
                return True
            time.sleep(0.05)
    return False


def run(state_dir: str, host: str = "127.0.0.1", port: int = 8080,
        node_timeout: float = defaults.NODE_TIMEOUT, backlog: float = defaults.BACKLOG) -> int:
    if not port_free(host, port):
        print(f"banyan: cannot listen on {host}:{port}: address in use", file=sys.stderr)
        return 4
    spool = Spool(state_dir)
    refusal = refuse_to_listen(spool.tokens, host, spool.root)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    api_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    api_url = f"http://{api_host}:{port}"
    pport = free_port()
    base = [sys.executable, "-m", "banyan", "--state", spool.root]
    commands = {
        "processor": base + ["processor", "--listen", f"127.0.0.1:{pport}", "--name", "local",
                             "--scheduler", api_url, "--drop-reports"],
        "scheduler": base + ["scheduler", "--node-timeout", str(node_timeout), "--backlog", str(backlog)],
        "api": base + ["serve", "--listen", f"{host}:{port}"],
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def on_signal(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    env = dict(os.environ, BANYAN_URL=api_url)
    if spool.tokens.any():  # the children talk to each other with a node token made afresh
        node_token = spool.tokens.create(UP_NODE_TOKEN, "node", replace=True)
        env.update(BANYAN_NODE_TOKEN=node_token, BANYAN_TOKEN=node_token)
    for name, cmd in commands.items():
        children[name] = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    if wait_http(f"{api_url}/scheduler/nodes", 30):
        logline.warn(f"banyan up: API on {api_url}, state in {spool.root} (Ctrl-C stops)")
    try:
        while not stopping:
            time.sleep(0.2)
            for name, child in children.items():
                if child.poll() is not None and not stopping:
                    logline.warn(f"banyan up: {name} exited with {child.returncode}; restarting")
                    time.sleep(RESTART_DELAY)
                    children[name] = subprocess.Popen(commands[name], env=env,
                                                      preexec_fn=_die_with_parent)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0
