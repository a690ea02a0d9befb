"""liveops.cli."""
