"""The monitor: 5-minute windows of mergeable statistics per service, version, arm and slice,
computed incrementally from the prediction log and feedback (:func:`run_monitor`), kept by a
background runner in the serving process (:class:`MonitorRunner`), read back as rolled-up
series (:func:`metric_series`) and a status (:func:`monitor_status`); its drift pass stores
drift points per drift window, and :func:`live_drift` checks the last complete one."""

from __future__ import annotations

from liveops.services.monitoring.drift_pass import LiveDrift, live_drift
from liveops.services.monitoring.estimates import Calibrators, right_probabilities
from liveops.services.monitoring.retention import enforce_retention
from liveops.services.monitoring.run import (
    OVERLAP,
    MonitorReport,
    ServiceReport,
    default_owner,
    run_monitor,
)
from liveops.services.monitoring.runner import MonitorRunner, parse_every
from liveops.services.monitoring.scopes import ALL as ALL_SLICE
from liveops.services.monitoring.scopes import Scopes, scopes_for
from liveops.services.monitoring.series import (
    DEFAULT_METRICS,
    WINDOWS,
    Series,
    check_metric,
    metric_series,
    monitor_status,
    parse_since,
)

__all__ = [
    "ALL_SLICE",
    "DEFAULT_METRICS",
    "OVERLAP",
    "WINDOWS",
    "Calibrators",
    "LiveDrift",
    "MonitorReport",
    "MonitorRunner",
    "Scopes",
    "Series",
    "ServiceReport",
    "check_metric",
    "default_owner",
    "enforce_retention",
    "live_drift",
    "metric_series",
    "monitor_status",
    "parse_every",
    "parse_since",
    "right_probabilities",
    "run_monitor",
    "scopes_for",
]
