"""batch source: whether a logged prediction came from the gateway (live) or `liveops batch`

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows logged before the column existed all came from the gateway.
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="live"))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("source")
