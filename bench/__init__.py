"""Benchmarks: ``make bench`` (loopback only, bounded counts)."""
