"""Monitoring: mergeable window statistics."""
