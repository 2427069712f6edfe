"""The scheduler: one pass (intake → place → follow → finish) and the daemon that repeats it."""
