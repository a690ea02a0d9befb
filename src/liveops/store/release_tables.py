"""Tables of the release aggregate (migration 0009), on the shared ``metadata``.

A release row holds the draft (its version, the approval policy copied from ``liveops.yaml``,
the rollout plan, the notes) and, once decided, the decision record. Checklist items,
approvals and overrides are rows of their own; every change is also an audit event.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from liveops.store.tables import metadata

releases = Table(
    "releases",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("service", String(64), ForeignKey("services.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("author", String(200), nullable=False),
    Column("policy", JSON, nullable=False),
    Column("rollout_plan", JSON, nullable=True),
    Column("notes", Text, nullable=False),
    Column("notes_edited", Boolean, nullable=False),
    Column("decision", JSON, nullable=True),
    Index("ix_releases_service", "service", "version"),
)

release_items = Table(
    "release_items",
    metadata,
    Column("release_id", String(16), ForeignKey("releases.id"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # automatic | manual
    Column("state", String(16), nullable=False),  # pass | fail | missing | overridden
    Column("detail", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("by", String(200), nullable=True),  # manual items: who ticked it
    Column("at", DateTime(timezone=True), nullable=True),
)

release_approvals = Table(
    "release_approvals",
    metadata,
    Column("release_id", String(16), ForeignKey("releases.id"), primary_key=True),
    Column("approver", String(200), primary_key=True),
    Column("override", Boolean, primary_key=True),  # an approval of the override
    Column("group_name", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("comment", Text, nullable=True),
)

release_overrides = Table(
    "release_overrides",
    metadata,
    Column("release_id", String(16), ForeignKey("releases.id"), primary_key=True),
    Column("item", String(64), primary_key=True),
    Column("justification", Text, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
)
