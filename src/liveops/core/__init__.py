"""liveops.core."""
