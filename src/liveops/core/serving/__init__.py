"""Serving: request checks, the decision layer, routing tables, breaker, prediction records."""
