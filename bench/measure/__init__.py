"""Measurement: probes on engine events, statistics, reports."""
