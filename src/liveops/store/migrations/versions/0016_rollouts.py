"""rollouts: one row per rollout (one active per service, enforced by a unique column) and
one per look of the controller, with the gate values

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("service", sa.String(64), sa.ForeignKey("services.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("baseline", sa.Integer, nullable=False),
        sa.Column("release_id", sa.String(16), nullable=True),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("step_started_at", ts, nullable=False),
        sa.Column("started_at", ts, nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("ended_at", ts, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        # The service's name while the rollout is active, else NULL: one active per service.
        sa.Column("active", sa.String(64), nullable=True),
        sa.UniqueConstraint("active", name="uq_rollouts_active"),
    )
    op.create_index("ix_rollouts_service", "rollouts", ["service", "started_at"])
    op.create_table(
        "rollout_looks",
        sa.Column("rollout_id", sa.String(16), sa.ForeignKey("rollouts.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("at", ts, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("gates", sa.JSON, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rollout_looks")
    op.drop_index("ix_rollouts_service", table_name="rollouts")
    op.drop_table("rollouts")
