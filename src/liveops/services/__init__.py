"""liveops.services."""
