"""Scenarios: what the bench runs end to end (IPI latency, later boot, remoteproc, RPMsg)."""
