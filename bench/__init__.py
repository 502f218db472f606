"""Benchmarks: every timing beside a baseline measured in the same run, reported as a ratio."""
