"""Tables the gateway writes beside the prediction log: heartbeat ticks and outcome events.

``gateway_ticks``: one row per gateway instance and tick. A tick at ``tick_at`` says the
instance was up during the ``interval_s`` before it, and carries what it saw meanwhile, per
service: requests and the refused ones by status (``counts``: ``{service: {"requests": n,
"422": n, ...}}``). Requests that were refused never reach the prediction log, so this is the
only place a broken client (a 422 storm) or back-pressure (429s) shows after the fact.

``outcomes``: named events about an answer that happen later (``resolved``, ``escalated``,
``refunded``), with an optional number. They live in their own table rather than as a kind of
feedback: a prediction can have several outcomes from one source at once (escalated, then
resolved), whereas feedback of one kind from one source supersedes the older value; here only
the same outcome name from the same source supersedes (a corrected refund amount).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Index, String, Table, false

from liveops.store.tables import metadata

_TS = DateTime(timezone=True)

gateway_ticks = Table(
    "gateway_ticks",
    metadata,
    Column("instance_id", String(64), primary_key=True),
    Column("tick_at", _TS, primary_key=True),
    Column("interval_s", Float, nullable=False),
    Column("counts", JSON, nullable=False),
    # the last tick of an instance that stopped cleanly: after it the gateway is not expected
    Column("stopped", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_gateway_ticks_tick_at", "tick_at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("prediction_id", String(26), nullable=False),
    Column("source", String(200), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("value", Float, nullable=True),
    Column("created_at", _TS, nullable=False),
    Column("superseded_by", String(26), nullable=True),
    Column("stored_at", _TS, nullable=False),  # when the row reached the database
    Index("ix_outcomes_prediction_id", "prediction_id"),
    Index("ix_outcomes_stored_at", "stored_at"),  # the monitor's incremental reads
)
