"""Tables of the rollout aggregate (migration 0016), on the shared ``metadata``.

A ``rollouts`` row is one rollout of a candidate version against the baseline (the production
version when it started): its plan, state, current step and who started it. ``active`` holds the
service's name while the rollout is running, paused or held and NULL once it ended; its unique
constraint is how the database itself refuses a second active rollout of a service (NULLs never
collide, on SQLite as on PostgreSQL). ``rollout_looks`` keeps one row per look of the controller:
the action taken and every gate's verdict with its raw values.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from liveops.store.tables import metadata

_TS = DateTime(timezone=True)

rollouts = Table(
    "rollouts",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("service", String(64), ForeignKey("services.name"), nullable=False),
    Column("version", Integer, nullable=False),  # the candidate
    Column("baseline", Integer, nullable=False),  # production when the rollout started
    Column("release_id", String(16), nullable=True),
    Column("plan", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("step", Integer, nullable=False),  # index into plan.steps
    Column("step_started_at", _TS, nullable=False),
    Column("started_at", _TS, nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("ended_at", _TS, nullable=True),
    Column("reason", Text, nullable=True),
    Column("active", String(64), nullable=True, unique=True),
    Index("ix_rollouts_service", "service", "started_at"),
)

rollout_looks = Table(
    "rollout_looks",
    metadata,
    Column("rollout_id", String(16), ForeignKey("rollouts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", _TS, nullable=False),
    Column("step", Integer, nullable=False),
    Column("action", String(16), nullable=False),  # advance | hold | abort | wait
    Column("detail", Text, nullable=False),
    Column("gates", JSON, nullable=False),  # every verdict with its raw values
    Column("counts", JSON, nullable=False),  # answers per arm behind them
)
