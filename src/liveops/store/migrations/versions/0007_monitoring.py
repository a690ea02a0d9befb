"""monitoring: 5-minute windows, the monitor's state and lease, fixed segment values; indexes
on the log's stored time and feedback's creation time for incremental reads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_windows",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("arm", sa.String(32), primary_key=True),
        sa.Column("slice", sa.String(200), primary_key=True),
        sa.Column("window_start", _TS, primary_key=True),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("computed_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_monitor_windows_service_window_start", "monitor_windows", ["service", "window_start"]
    )
    op.create_table(
        "monitor_state",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("watermark", _TS, nullable=True),
        sa.Column("feedback_watermark", _TS, nullable=True),
        sa.Column("last_run_at", _TS, nullable=True),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("feedback_read", sa.Integer, nullable=False),
        sa.Column("windows_written", sa.Integer, nullable=False),
    )
    op.create_table(
        "monitor_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_table(
        "monitor_segment_values",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("top_values", sa.JSON, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("fixed_at", _TS, nullable=False),
    )
    op.create_index("ix_predictions_service_logged_at", "predictions", ["service", "logged_at"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_created_at", "feedback")
    op.drop_index("ix_predictions_service_logged_at", "predictions")
    op.drop_table("monitor_segment_values")
    op.drop_table("monitor_lease")
    op.drop_table("monitor_state")
    op.drop_index("ix_monitor_windows_service_window_start", "monitor_windows")
    op.drop_table("monitor_windows")
