"""Tables of the alerting aggregate: receivers as applied, the state of every alert (one row per
fingerprint: a rule and its scope), firing episodes (for noise), silences, the notification
outbox, and incidents with their timeline."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, String, Table, Text

from liveops.store.tables import metadata

_TS = DateTime(timezone=True)

alert_receivers = Table(
    "alert_receivers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", JSON, nullable=False),  # names environment variables, never secrets
    Column("updated_at", _TS, nullable=False),
)

alert_states = Table(
    "alert_states",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("rule", String(120), nullable=False),
    Column("scope", JSON, nullable=False),  # {version, arm, slice}
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # inactive | pending | firing | resolved
    Column("active_since", _TS, nullable=True),  # when the condition started to hold
    Column("fired_at", _TS, nullable=True),
    Column("resolved_at", _TS, nullable=True),
    Column("evaluated_at", _TS, nullable=False),  # the end of the window last judged
    Column("value", Float, nullable=True),
    Column("baseline", Float, nullable=True),
    Column("count", Integer, nullable=False),
    Column("notified_state", String(16), nullable=True),  # what the receivers were last told
    Column("notified_at", _TS, nullable=True),
    Index("ix_alert_states_service", "service"),
)

alert_episodes = Table(
    "alert_episodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("rule", String(120), nullable=False),
    Column("fired_at", _TS, nullable=False),
    Column("resolved_at", _TS, nullable=True),
    Column("acked_at", _TS, nullable=True),
    Index("ix_alert_episodes_service_rule", "service", "rule"),
)

alert_silences = Table(
    "alert_silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(64), nullable=False),
    Column("rule", String(120), nullable=False),
    Column("starts_at", _TS, nullable=False),
    Column("ends_at", _TS, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
)

# One row per notification to one receiver: the monitor writes it in the transaction that
# changes the alert's state; a sender delivers it. ``key`` is the idempotency key every payload
# carries; ``status`` pending -> sending (claimed until ``claimed_until``) -> delivered.
alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("receiver", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # notify | refresh | test
    Column("payload", JSON, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", _TS, nullable=False),
    Column("claimed_until", _TS, nullable=True),
    Column("delivered_at", _TS, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_alert_outbox_status_receiver", "status", "receiver", "id"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", _TS, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("fingerprints", JSON, nullable=False),  # the alerts that joined it
    Column("scope", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("changes", JSON, nullable=False),
    Column("review", JSON, nullable=True),
    Index("ix_incidents_service_status", "service", "status"),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, nullable=False),
    Column("at", _TS, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_incident_events_incident", "incident_id"),
)
