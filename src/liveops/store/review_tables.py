"""Tables of the review aggregate (migration 0003), on the shared ``metadata``.

A score is one row per (item, reviewer, rubric item): a resubmission replaces the value, bumps
``revision`` and the earlier answer stays in the audit log (``review.scored`` events carry the
old and new values), so the table answers "what do reviewers say now" and the audit chain
answers "who said what when".
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from liveops.store.tables import metadata

reviews = Table(
    "reviews",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("service", String(64), ForeignKey("services.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source_run", String(64), nullable=False),
    Column("rubric", JSON, nullable=False),
    Column("sample", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("review_id", String(16), ForeignKey("reviews.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("case_ref", String(200), nullable=False),
    Column("stratum", String(16), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("expected", Text, nullable=True),
    Column("predicted", Text, nullable=True),
    Column("confidence", Float, nullable=True),
    Column("extra", JSON, nullable=False),
    UniqueConstraint("review_id", "position", name="uq_review_items_review_position"),
)

review_scores = Table(
    "review_scores",
    metadata,
    Column("item_id", String(40), ForeignKey("review_items.id"), primary_key=True),
    Column("reviewer", String(200), primary_key=True),
    Column("rubric_item", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("note", Text, nullable=True),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Which dataset version a reviewed case was promoted into (one row per item and dataset).
review_promotions = Table(
    "review_promotions",
    metadata,
    Column("item_id", String(40), ForeignKey("review_items.id"), primary_key=True),
    Column("dataset", String(64), primary_key=True),
    Column("dataset_number", Integer, nullable=False),
    Column("promoted_by", String(200), nullable=False),
    Column("promoted_at", DateTime(timezone=True), nullable=False),
)
