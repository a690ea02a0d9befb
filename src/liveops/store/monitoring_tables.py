"""Tables of the monitoring aggregate: 5-minute windows, the monitor's state, its lease, and the
segment values fixed per service.

A window row holds a :class:`~liveops.core.monitoring.window.WindowStats` as JSON; the key is
(service, version, arm, slice, window_start). ``version`` is 0 for answers no version gave (the
kill switch, rules only): key columns cannot be NULL on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table

from liveops.store.tables import metadata

_TS = DateTime(timezone=True)

monitor_windows = Table(
    "monitor_windows",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("arm", String(32), primary_key=True),
    Column("slice", String(200), primary_key=True),
    Column("window_start", _TS, primary_key=True),
    Column("stats", JSON, nullable=False),
    Column("computed_at", _TS, nullable=False),
    Index("ix_monitor_windows_service_window_start", "service", "window_start"),
)

# One row per service: how far the monitor has read the log (by the time rows were stored).
monitor_state = Table(
    "monitor_state",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("watermark", _TS, nullable=True),  # predictions.logged_at read up to
    Column("feedback_watermark", _TS, nullable=True),  # feedback.created_at read up to
    Column("last_run_at", _TS, nullable=True),
    Column("rows_read", Integer, nullable=False),
    Column("feedback_read", Integer, nullable=False),
    Column("windows_written", Integer, nullable=False),
)

# The runner's lease: one row per lock name; a runner works only while it holds an unexpired one.
monitor_lease = Table(
    "monitor_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", _TS, nullable=False),
)

# The values of a segment field that get a slice of their own, fixed the first time.
monitor_segment_values = Table(
    "monitor_segment_values",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("top_values", JSON, nullable=False),
    Column("source", String(200), nullable=False),
    Column("fixed_at", _TS, nullable=False),
)

# A version's calibrator for the label-free estimate, fitted once per calibration set: ``key``
# is the hash of the set's content hash and the calibration's settings. ``artifact`` is the
# calibrator's JSON in the artifact store; a fit that failed keeps ``error`` (why) instead, so
# the monitor neither refits it on every pass nor says it more than once.
monitor_calibrations = Table(
    "monitor_calibrations",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("dataset", String(200), nullable=False),
    Column("artifact", String(64), nullable=True),
    Column("error", String(2000), nullable=True),
    Column("cases", Integer, nullable=False),
    Column("fitted_at", _TS, nullable=False),
)
