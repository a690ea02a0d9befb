"""drift points: the monitor's drift statistics per service, version, slice, drift window and
metric, and how far each service's drift windows have been computed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "drift_points",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("slice", sa.String(200), primary_key=True),
        sa.Column("window_s", sa.Integer, primary_key=True),
        sa.Column("window_start", ts, primary_key=True),
        sa.Column("metric", sa.String(200), primary_key=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("drifted", sa.Boolean, nullable=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("computed_at", ts, nullable=False),
    )
    op.create_index("ix_drift_points_service_window", "drift_points", ["service", "window_start"])
    op.create_table(
        "drift_state",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("window_s", sa.Integer, primary_key=True),
        sa.Column("done_until", ts, nullable=False),
        sa.Column("computed_at", ts, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drift_state")
    op.drop_index("ix_drift_points_service_window", table_name="drift_points")
    op.drop_table("drift_points")
