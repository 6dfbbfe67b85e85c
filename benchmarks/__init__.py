"""Benchmarks for uschina-bot (run as modules: python -m benchmarks.NAME)."""
