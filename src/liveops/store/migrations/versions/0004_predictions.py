"""predictions: the prediction log, raw inputs with an expiry, feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("prediction_id", sa.String(26), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("fallback", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("cost", sa.Float, nullable=True),
        sa.Column("tokens_in", sa.Integer, nullable=True),
        sa.Column("tokens_out", sa.Integer, nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("caller", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("plan", sa.String(64), nullable=True),
        sa.Column("language", sa.String(64), nullable=True),
        sa.Column("segments", sa.JSON, nullable=True),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("redactions", sa.Integer, nullable=False),
        sa.Column("logged_at", _TS, nullable=False),
    )
    op.create_index("ix_predictions_service_ts", "predictions", ["service", "ts"])
    op.create_table(
        "prediction_raw_inputs",
        sa.Column("prediction_id", sa.String(26), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_prediction_raw_inputs_expires_at", "prediction_raw_inputs", ["expires_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("prediction_id", sa.String(26), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("rating", sa.Float, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("superseded_by", sa.String(26), nullable=True),
    )
    op.create_index("ix_feedback_prediction_id", "feedback", ["prediction_id"])


def downgrade() -> None:
    for table in ("feedback", "prediction_raw_inputs", "predictions"):
        op.drop_table(table)
