"""Side-by-side benchmarks against peer tools (``python bench/run.py NAME``)."""
