"""Execution engines: run a validated JobSpec and report a JobResult."""
