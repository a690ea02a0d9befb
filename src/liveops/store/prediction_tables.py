"""Tables of the predictions aggregate: the prediction log, raw inputs kept for a while, feedback.

Typed columns for what monitoring filters and aggregates; JSON only for the input itself and the
scores. There are no foreign keys between these tables on purpose: feedback may arrive for an id
whose log record is still in a gateway's spool, and the log must accept records of services that
a project file no longer declares.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from liveops.store.tables import metadata

_TS = DateTime(timezone=True)

predictions = Table(
    "predictions",
    metadata,
    Column("prediction_id", String(26), primary_key=True),  # a ULID: sorts by time
    Column("service", String(64), nullable=False),
    Column("version", Integer, nullable=True),
    Column("arm", String(32), nullable=False),
    Column("ts", _TS, nullable=False),
    Column("label", String(200), nullable=True),
    Column("confidence", Float, nullable=True),
    Column("decision", String(32), nullable=False),
    Column("fallback", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("cost", Float, nullable=True),
    Column("tokens_in", Integer, nullable=True),
    Column("tokens_out", Integer, nullable=True),
    Column("error", String(200), nullable=True),
    Column("caller", String(200), nullable=True),
    Column("channel", String(64), nullable=True),
    Column("plan", String(64), nullable=True),
    Column("language", String(64), nullable=True),
    Column("segments", JSON, nullable=True),  # segment fields other than the three above
    Column("scores", JSON, nullable=False),
    Column("inputs", JSON, nullable=False),  # redacted
    Column("redactions", Integer, nullable=False),  # how many values redaction masked
    Column("logged_at", _TS, nullable=False),
    # Who asked: "live" (the gateway) or "batch" (`liveops batch`), so that the monitor can
    # keep bulk scoring apart from live traffic.
    Column("source", String(16), nullable=False, server_default="live"),
    Index("ix_predictions_service_ts", "service", "ts"),
    Index("ix_predictions_service_logged_at", "service", "logged_at"),  # the monitor's reads
)

# The unredacted input, only for services whose ``logging.raw_inputs`` is on, until expires_at;
# ``liveops predictions purge`` deletes expired rows.
prediction_raw_inputs = Table(
    "prediction_raw_inputs",
    metadata,
    Column("prediction_id", String(26), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("expires_at", _TS, nullable=False),
    Index("ix_prediction_raw_inputs_expires_at", "expires_at"),
)

# One row per piece of feedback. A newer value from the same source and of the same kind
# supersedes the older row (superseded_by points at it), so the history stays.
feedback = Table(
    "feedback",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("prediction_id", String(26), nullable=False),
    Column("source", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # label | rating | correction
    Column("value", Text, nullable=False),
    Column("rating", Float, nullable=True),  # the number, for kind = rating
    Column("comment", Text, nullable=True),
    Column("created_at", _TS, nullable=False),  # the label's own time (an import keeps it)
    Column("superseded_by", String(26), nullable=True),
    # A label the service does not declare, accepted because it allows new labels.
    Column("new_label", Boolean, nullable=False, default=False, server_default=false()),
    Column("stored_at", _TS, nullable=False),  # when the row reached the database
    Index("ix_feedback_prediction_id", "prediction_id"),
    Index("ix_feedback_created_at", "created_at"),
    Index("ix_feedback_stored_at", "stored_at"),  # the monitor's incremental reads
)
