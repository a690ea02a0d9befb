"""The monitor at scale: a seeded week of logged predictions and feedback, loaded in bulk, and
the monitor's full and incremental passes over it, checked against numpy (docs/benchmarks.md)."""
