"""Retention, enforced by the monitor's runner: windows and drift points older than a
service's ``monitoring.retention_days`` (default 400) and redacted log rows older than its
``logging.retention_days`` (default: kept forever).

Log rows are deleted up to a window boundary, so a window is never left half-deleted: the
windows computed from deleted rows stay until their own retention ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from liveops.core.clock import Clock
from liveops.services.registry import get_service_spec
from liveops.store import Store
from liveops.store.monitoring import WINDOW_S, window_start

__all__ = ["enforce_retention", "log_cutoff"]


def log_cutoff(now: datetime, days: float) -> datetime:
    """The request time before which log rows go: ``now - days``, down to a window start.

    >>> from datetime import UTC
    >>> log_cutoff(datetime(2026, 1, 10, 12, 7, tzinfo=UTC), 1).isoformat()
    '2026-01-09T12:05:00+00:00'
    """
    return window_start(int((now - timedelta(days=days)).timestamp()) // WINDOW_S)


def enforce_retention(store: Store, clock: Clock) -> dict[str, dict[str, int]]:
    """Delete what is past retention for every applied service; what was deleted, per
    service: ``{"windows": n, "log_rows": m}`` (windows: 5-minute windows and drift points)."""
    now = clock.now()
    out: dict[str, dict[str, int]] = {}
    for record in store.registry.list_services():
        spec = get_service_spec(store, record.name)
        days = spec.monitoring_settings().retention_days
        windows = store.monitoring.delete_windows_before(spec.name, now - timedelta(days=days))
        windows += store.drift.delete_before(spec.name, now - timedelta(days=days))
        log_days = spec.logging_settings().retention_days
        rows = 0
        if log_days is not None:
            rows = store.monitoring.delete_log_before(spec.name, log_cutoff(now, log_days))
        if windows or rows:
            out[spec.name] = {"windows": windows, "log_rows": rows}
    return out
