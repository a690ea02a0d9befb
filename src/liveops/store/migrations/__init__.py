"""The one Alembic history of liveops (a test checks it has a single head)."""
