"""Rollouts: peek-safe gate statistics on live arms (sequential), the gates a controller
checks at every look (gates), and vectorised replays of a canary (replay)."""
