"""Benchmarks and sweeps: memory, resolution, accuracy (see BENCHMARKS.md)."""
