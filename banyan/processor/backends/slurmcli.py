"""The Slurm commands the Slurm backend runs: sbatch, squeue, scancel, scontrol, sinfo.

Never through a shell: every argument is one list element, and job data reaches Slurm
only as whole `--option=value` elements. The commands get a small environment (PATH,
HOME, SLURM_*, SBATCH_*), so nothing else of the processor's environment (a token)
reaches slurmctld or, through sbatch's default `--export=ALL`, a batch job.
"""

import os
import subprocess

from ...errors import Unavailable

TIMEOUT = 30.0
"""Seconds a Slurm command may take; slurmctld answers in milliseconds unless it is down."""

IDS_PER_QUERY = 500
"""Job ids per squeue call, so that its command line stays short."""


class SlurmError(Unavailable):
    """A Slurm command failed, or did not answer in time; the message is Slurm's own."""


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("SLURM_", "SBATCH_"))}
    env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=os.environ.get("HOME", "/"),
               LC_ALL="C")
    return env


def run(argv: list[str]) -> str:
    """Run one Slurm command; its output, or SlurmError with its message."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                             env=environment(), stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SlurmError(f"{argv[0]} is not installed (the slurm-client package)") from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{argv[0]} did not answer in {TIMEOUT:g} s") from None
    if out.returncode != 0:
        message = " ".join((out.stderr or out.stdout).split()) or f"exit status {out.returncode}"
        raise SlurmError(message if message.startswith(argv[0]) else f"{argv[0]}: {message}")
    return out.stdout


def submit(options: list[str], script: str) -> str:
    """sbatch the script file with `options`; the Slurm job id."""
    out = run(["sbatch", "--parsable", *options, script]).strip()
    job_id = out.split(";")[0]
    if not job_id.isdigit():
        raise SlurmError(f"sbatch answered {out[:80]!r}, not a job id")
    return job_id


def find(comment: str) -> str | None:
    """The id of this user's Slurm job whose comment is `comment`, known to slurmctld, or None."""
    for line in run(["squeue", "--me", "--noheader", "--states=all", "--format=%i|%k"]).splitlines():
        slurm_id, _, text = line.partition("|")
        if text == comment:
            return slurm_id.strip()
    return None


def states(slurm_ids: list[str]) -> dict[str, tuple[str, str]]:
    """(state, reason) of each job slurmctld still knows; the ones it forgot are absent."""
    found: dict[str, tuple[str, str]] = {}
    for i in range(0, len(slurm_ids), IDS_PER_QUERY):
        chunk = slurm_ids[i:i + IDS_PER_QUERY]
        try:
            out = run(["squeue", "--noheader", "--states=all", "--format=%i|%T|%r",
                       "--jobs=" + ",".join(chunk)])
        except SlurmError as err:
            if "Invalid job id" in str(err):  # every id in the chunk is forgotten
                continue
            raise
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) == 3:
                found[parts[0].strip()] = (parts[1].strip(), parts[2].strip())
    return found


def signal(slurm_id: str, name: str) -> None:
    """Send SIG`name` to every process of the job, batch script included (`--full`)."""
    run(["scancel", f"--signal={name}", "--full", slurm_id])


def cancel(slurm_id: str) -> None:
    """Cancel the job: Slurm sends SIGCONT and SIGTERM, then SIGKILL after its KillWait."""
    run(["scancel", slurm_id])


def suspend(slurm_id: str) -> None:
    run(["scontrol", "suspend", slurm_id])


def resume(slurm_id: str) -> None:
    run(["scontrol", "resume", slurm_id])


def default_partition() -> str:
    for line in run(["sinfo", "--noheader", "--format=%P"]).split():
        if line.endswith("*"):
            return line[:-1]
    raise SlurmError("the cluster has no default partition; start the processor with --partition")


def partition_nodes(partition: str) -> list[dict]:
    """The partition's nodes: name, cpus, memory (MiB), gres, state, once each."""
    out = run(["sinfo", "--noheader", "--Node", f"--partition={partition}",
               "--format=%N|%c|%m|%G|%T"])
    nodes = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 5:
            name, cpus, memory, gres, state = (p.strip() for p in parts)
            nodes[name] = {"name": name, "cpus": _int(cpus), "memory": _int(memory),
                           "gres": gres, "state": state}
    if not nodes:
        raise SlurmError(f"Slurm has no partition {partition!r}, or it has no nodes")
    return list(nodes.values())


def allocated_cpus(partition: str) -> int:
    """CPUs of the partition allocated to jobs now (sinfo %C is allocated/idle/other/total)."""
    out = run(["sinfo", "--noheader", f"--partition={partition}", "--format=%C"]).split()
    return sum(_int(line.split("/")[0]) for line in out)


def _int(text: str) -> int:
    digits = "".join(c for c in text if c.isdigit())
    return int(digits) if digits else 0
