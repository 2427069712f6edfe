"""The `banyan` command (SPEC §7)."""
