"""Slurm's job states (squeue %T) and what each one means for a Banyan attempt.

| Slurm state | processor `state` | `result` once it ended |
|---|---|---|
| PENDING, CONFIGURING, REQUEUED, REQUEUE_HOLD, REQUEUE_FED, RESV_DEL_HOLD | starting | |
| RUNNING, COMPLETING, SIGNALING, STAGE_OUT, RESIZING | running | |
| SUSPENDED, STOPPED | suspended | |
| COMPLETED | stopped | the batch script's verdict: `success` (or `failure`) |
| FAILED, SPECIAL_EXIT | stopped | the batch script's verdict, else `failure` |
| CANCELLED | stopped | `killed` (scancel by Banyan's kill, or by anyone) |
| TIMEOUT, DEADLINE | stopped | `timeout` (Slurm's `--time` limit, Banyan's backstop) |
| NODE_FAIL, BOOT_FAIL, PREEMPTED, REVOKED | stopped | `lost`, so the scheduler retries it while attempts remain |
| OUT_OF_MEMORY | stopped | `failure` |
| (forgotten by slurmctld) | stopped | the batch script's verdict, else `lost` |

A kill or timeout that Banyan itself began (the attempt's `stopping` file) decides the
result before anything else, and a batch script that recorded `success` is believed
over a cluster verdict that came after it. A state not in the table counts as running.
"""

STARTING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
SUSPENDED = {"SUSPENDED", "STOPPED"}
ENDED = {
    "COMPLETED": None, "FAILED": None, "SPECIAL_EXIT": None,
    "CANCELLED": "killed",
    "TIMEOUT": "timeout", "DEADLINE": "timeout",
    "NODE_FAIL": "lost", "BOOT_FAIL": "lost", "PREEMPTED": "lost", "REVOKED": "lost",
    "OUT_OF_MEMORY": "failure",
}
"""Final states, and the result Slurm's verdict gives (None: the batch script's own)."""

KILLED_BY_SLURM = {"CANCELLED", "TIMEOUT", "DEADLINE", "OUT_OF_MEMORY"}
"""Final states in which Slurm signals the job's processes, SIGKILL last."""


def processor_state(slurm_state: str) -> str:
    """Our processor state for a Slurm state: starting, running, suspended or stopped."""
    if slurm_state in ENDED:
        return "stopped"
    if slurm_state in STARTING:
        return "starting"
    if slurm_state in SUSPENDED:
        return "suspended"
    return "running"


def result(slurm_state: str | None, batch_result: str | None, stopping: str | None) -> str:
    """The result of an attempt that ended in `slurm_state` (None: slurmctld forgot it)."""
    if stopping:
        return stopping
    if batch_result == "success":
        return "success"
    verdict = ENDED.get(slurm_state) if slurm_state else None
    return verdict or batch_result or ("lost" if slurm_state is None else "failure")


def killed_hard(slurm_state: str | None, banyan_kill: bool) -> bool:
    """Whether the job's processes ended by SIGKILL, if its batch script recorded no end."""
    return banyan_kill or slurm_state in KILLED_BY_SLURM
