"""evaluation: eval_runs and eval_cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("service", sa.String(64), sa.ForeignKey("services.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("baseline_version", sa.Integer, nullable=True),
        sa.Column("suite_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
    )
    op.create_index("ix_eval_runs_version", "eval_runs", ["service", "version"])
    op.create_table(
        "eval_cases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_id", sa.String(16), sa.ForeignKey("eval_runs.id"), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("expected", sa.String(200), nullable=True),
        sa.Column("predicted", sa.String(200), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("decision", sa.String(32), nullable=True),
        sa.Column("correct", sa.Boolean, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("groups", sa.JSON, nullable=False),
    )
    op.create_index("ix_eval_cases_run", "eval_cases", ["run_id", "source"])


def downgrade() -> None:
    op.drop_index("ix_eval_cases_run", "eval_cases")
    op.drop_table("eval_cases")
    op.drop_index("ix_eval_runs_version", "eval_runs")
    op.drop_table("eval_runs")
