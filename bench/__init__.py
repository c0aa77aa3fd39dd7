"""Benchmarks: each prints JSON (times in *_ms)."""
