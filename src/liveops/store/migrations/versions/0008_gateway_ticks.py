"""gateway ticks (heartbeat and refused requests per instance) and outcome events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_ticks",
        sa.Column("instance_id", sa.String(64), primary_key=True),
        sa.Column("tick_at", _TS, primary_key=True),
        sa.Column("interval_s", sa.Float, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )
    op.create_index("ix_gateway_ticks_tick_at", "gateway_ticks", ["tick_at"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("prediction_id", sa.String(26), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("superseded_by", sa.String(26), nullable=True),
    )
    op.create_index("ix_outcomes_prediction_id", "outcomes", ["prediction_id"])


def downgrade() -> None:
    op.drop_index("ix_outcomes_prediction_id", "outcomes")
    op.drop_table("outcomes")
    op.drop_index("ix_gateway_ticks_tick_at", "gateway_ticks")
    op.drop_table("gateway_ticks")
