"""Whether a job's resources (cores, memory bytes, gpus) fit in what a node has free.

One rule for the scheduler's placement and the node's own start of what waits there:
a node whose memory is unknown (0) does not count memory.
"""


def fits(res: dict, free: dict, total_memory: int) -> bool:
    return (res["cores"] <= free["cores"] and res["gpus"] <= free["gpus"]
            and (total_memory == 0 or res["memory"] <= free["memory"]))
