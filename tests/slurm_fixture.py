"""A real one-node Slurm cluster on 127.0.0.1 for the session: munged, slurmctld, slurmd.

Started by tests/slurm_cluster.sh (Debian's packages, no systemd, no cgroups) in a temp
folder with free ports, and stopped by it at the end. KillWait=1 so that a kill past its
grace ends within a second, as it does on a local node.
"""

import os
import socket
import subprocess

import pytest
from conftest import ROOT, STRICT, need

SCRIPT = os.path.join(ROOT, "tests", "slurm_cluster.sh")


class Cluster:
    def __init__(self, root: str):
        self.root = root
        self.env = {"SLURM_CONF": os.path.join(root, "etc", "slurm.conf")}

    def run(self, *argv: str, check: bool = True) -> str:
        out = subprocess.run(argv, env=dict(os.environ, **self.env), capture_output=True,
                             text=True, timeout=30)
        if check and out.returncode != 0:
            raise AssertionError(f"{' '.join(argv)}: {out.stderr.strip()}")
        return out.stdout

    def jobs(self) -> list[str]:
        """Ids of the jobs slurmctld knows that have not ended."""
        return self.run("squeue", "--noheader", "--format=%i").split()

    def cancel_all(self) -> None:
        jobs = self.jobs()
        if jobs:
            self.run("scancel", *jobs, check=False)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    for program in ("munged", "slurmctld", "slurmd", "sbatch"):
        need(program)
    if os.geteuid() != 0:
        message = "a Slurm cluster needs root here (slurmd runs jobs as their user)"
        pytest.fail(message) if STRICT else pytest.skip(message)
    root = str(tmp_path_factory.mktemp("slurm"))
    ctld, slurmd = free_ports(2)
    env = dict(os.environ, SLURM_DIR=root, SLURM_CTLD_PORT=str(ctld), SLURMD_PORT=str(slurmd),
               SLURM_EXTRA="KillWait=1")
    out = subprocess.run(["bash", SCRIPT, "start"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, f"slurm_cluster.sh start failed: {out.stderr}"
    cluster = Cluster(root)
    yield cluster
    cluster.cancel_all()
    subprocess.run(["bash", SCRIPT, "stop"], env=env, capture_output=True, timeout=60)
