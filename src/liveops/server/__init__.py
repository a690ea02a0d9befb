"""liveops.server."""
