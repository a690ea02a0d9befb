"""Evaluation: suites, metrics with intervals, gates, slices, perturbations, the typed summary."""
