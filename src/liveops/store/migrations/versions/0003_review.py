"""review: reviews, review items, reviewers' scores, promotions to regression datasets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("service", sa.String(64), sa.ForeignKey("services.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source_run", sa.String(64), nullable=False),
        sa.Column("rubric", sa.JSON, nullable=False),
        sa.Column("sample", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("review_id", sa.String(16), sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("case_ref", sa.String(200), nullable=False),
        sa.Column("stratum", sa.String(16), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("expected", sa.Text, nullable=True),
        sa.Column("predicted", sa.Text, nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.UniqueConstraint("review_id", "position", name="uq_review_items_review_position"),
    )
    op.create_table(
        "review_scores",
        sa.Column("item_id", sa.String(40), sa.ForeignKey("review_items.id"), primary_key=True),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("rubric_item", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "review_promotions",
        sa.Column("item_id", sa.String(40), sa.ForeignKey("review_items.id"), primary_key=True),
        sa.Column("dataset", sa.String(64), primary_key=True),
        sa.Column("dataset_number", sa.Integer, nullable=False),
        sa.Column("promoted_by", sa.String(200), nullable=False),
        sa.Column("promoted_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("review_promotions", "review_scores", "review_items", "reviews"):
        op.drop_table(table)
