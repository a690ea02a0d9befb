"""feedback and outcome events: the time each row was stored (``stored_at``), which the
monitor's incremental pass reads by; a label imported late keeps its own older time in
``created_at``. Gateway ticks: ``stopped`` marks the last tick of an instance that stopped
cleanly (after it, the gateway is not expected up; after a crash's last tick it is)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    for table in ("feedback", "outcomes"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("stored_at", ts, nullable=True))
        # rows stored before this revision: their creation time is the best record there is
        op.execute(f"UPDATE {table} SET stored_at = created_at")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("stored_at", existing_type=ts, nullable=False)
        op.create_index(f"ix_{table}_stored_at", table, ["stored_at"])
    with op.batch_alter_table("gateway_ticks") as batch:
        batch.add_column(
            sa.Column("stopped", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("gateway_ticks") as batch:
        batch.drop_column("stopped")
    for table in ("feedback", "outcomes"):
        op.drop_index(f"ix_{table}_stored_at", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("stored_at")
