"""releases: drafts, checklist items, approvals, overrides, notes and the decision record

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("service", sa.String(64), sa.ForeignKey("services.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("rollout_plan", sa.JSON, nullable=True),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("notes_edited", sa.Boolean, nullable=False),
        sa.Column("decision", sa.JSON, nullable=True),
    )
    op.create_index("ix_releases_service", "releases", ["service", "version"])
    op.create_table(
        "release_items",
        sa.Column("release_id", sa.String(16), sa.ForeignKey("releases.id"), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("by", sa.String(200), nullable=True),
        sa.Column("at", _TS, nullable=True),
    )
    op.create_table(
        "release_approvals",
        sa.Column("release_id", sa.String(16), sa.ForeignKey("releases.id"), primary_key=True),
        sa.Column("approver", sa.String(200), primary_key=True),
        sa.Column("override", sa.Boolean, primary_key=True),
        sa.Column("group_name", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
    )
    op.create_table(
        "release_overrides",
        sa.Column("release_id", sa.String(16), sa.ForeignKey("releases.id"), primary_key=True),
        sa.Column("item", sa.String(64), primary_key=True),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", _TS, nullable=True),
    )


def downgrade() -> None:
    for table in ("release_overrides", "release_approvals", "release_items"):
        op.drop_table(table)
    op.drop_index("ix_releases_service", table_name="releases")
    op.drop_table("releases")
