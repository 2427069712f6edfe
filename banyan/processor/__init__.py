"""The processor: the HTTP service on a node that runs jobs (SPEC §1, §5)."""
