"""liveops.demo."""
