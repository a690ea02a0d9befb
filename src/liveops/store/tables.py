"""Table definitions, split by aggregate. One MetaData; one Alembic history builds it.

Later aggregates (evaluation, predictions, monitoring) add their tables in modules of their own
on the same ``metadata`` and a migration on top of the current head.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- registry -------------------------------------------------------------------------------

services = Table(
    "services",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(64), ForeignKey("services.name"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("artifact_hash", String(64), nullable=False),
    Column("artifact_format", String(16), nullable=False),
    Column("config", JSON, nullable=False),
    Column("lineage", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("message", Text, nullable=True),
    Column("owner", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("service", "number", name="uq_versions_service_number"),
    UniqueConstraint("service", "content_hash", name="uq_versions_service_content"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("service", String(64), ForeignKey("services.name"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(200), nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("source", Text, nullable=True),
    Column("rows", BigInteger, nullable=False),
    Column("profile", JSON, nullable=False),
    Column("data_artifact", String(64), nullable=False),
    Column("reference_artifact", String(64), nullable=False),
    Column("reference_rows", BigInteger, nullable=False),
    Column("reference_cap", BigInteger, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name", "number", name="uq_datasets_name_number"),
    UniqueConstraint("name", "content_hash", name="uq_datasets_name_content"),
)

# --- audit ----------------------------------------------------------------------------------

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("data", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_object", "object_type", "object_id"),
)

# One row (id = 1): how many events there are and the hash of the last one. Locking this row
# serialises every state change (and so version numbering) on PostgreSQL.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

# --- evaluation -----------------------------------------------------------------------------

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("service", String(64), ForeignKey("services.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("baseline_version", Integer, nullable=True),
    Column("suite_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("summary", JSON, nullable=False),
    Column("exit_code", Integer, nullable=False),
    Index("ix_eval_runs_version", "service", "version"),
)

eval_cases = Table(
    "eval_cases",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(16), ForeignKey("eval_runs.id"), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("source", String(16), nullable=False),  # eval | must_pass | probe
    Column("inputs", JSON, nullable=False),
    Column("expected", String(200), nullable=True),
    Column("predicted", String(200), nullable=True),
    Column("confidence", Float, nullable=True),
    Column("decision", String(32), nullable=True),
    Column("correct", Boolean, nullable=True),
    Column("error", Text, nullable=True),
    Column("groups", JSON, nullable=False),  # slice and scenario names, e.g. ["slice:spanish"]
    Index("ix_eval_cases_run", "run_id", "source"),
)
