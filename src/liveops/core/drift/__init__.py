"""Drift: per-column statistics of a current sample against a reference (numbers, categories,
text, model outputs), with the thresholds that judge them."""
