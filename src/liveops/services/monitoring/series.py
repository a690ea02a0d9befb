"""Reading the monitor: metric series rolled up from the stored windows, and the monitor's
status.

A rollup merges the 5-minute :class:`~liveops.core.monitoring.window.WindowStats` of a bucket
(an hour, a day) and computes the metric from the merged counts; the log is never read again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from liveops.core import catalogue
from liveops.core.clock import Clock
from liveops.core.monitoring.window import WindowStats, computes
from liveops.core.project import ServiceSpec
from liveops.errors import UsageError
from liveops.services.monitoring.signals import GATEWAY_ARM
from liveops.services.registry import get_service_spec
from liveops.store import Store

__all__ = [
    "DEFAULT_METRICS",
    "WINDOWS",
    "MetricRow",
    "Series",
    "ServiceStatus",
    "Status",
    "check_metric",
    "metric_series",
    "monitor_status",
    "parse_since",
]

By = Literal["version", "arm", "slice"]
WINDOWS = {"5m": 300, "1h": 3600, "1d": 86400}
DEFAULT_METRICS = (
    "volume",
    "error_rate",
    "fallback_rate",
    "latency.p95_ms",
    "cost.per_request",
    "accuracy",
    "label_coverage",
)
_SINCE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: datetime) -> datetime:
    """``2d``, ``12h``, ``30m``, ``1w`` before ``now``, or an ISO time (UTC when it names no
    zone); anything else is a :class:`UsageError`.

    >>> now = datetime(2026, 3, 1, tzinfo=UTC)
    >>> parse_since("2d", now).isoformat(), parse_since("2026-02-27T06:00", now).isoformat()
    ('2026-02-27T00:00:00+00:00', '2026-02-27T06:00:00+00:00')
    """
    m = _SINCE.match(text.strip())
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNIT_S[m.group(2)])
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a duration nor a time",
            hint="e.g. --since 2d, 12h, 30m, 1w or an ISO time such as 2026-03-01T06:00",
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dataclass
class MetricRow:
    """One metric of one key (a version, an arm or a slice) over the buckets."""

    key: str
    metric: str
    values: list[float | None]  # per bucket, None where there is no evidence
    total: float | None  # over the whole period
    volume: int  # answers in the period
    # The 95 % interval per bucket and over the period, for estimated.* metrics only.
    intervals: list[tuple[float, float] | None] | None = None
    total_interval: tuple[float, float] | None = None


@dataclass
class Series:
    service: str
    by: str
    window: str
    since: str
    until: str
    buckets: list[str]  # bucket starts, ISO
    rows: list[MetricRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_metric(name: str) -> None:
    """Refuse a name the catalogue does not know or neither the windows nor the drift pass
    keep."""
    catalogue.check(name, "live")
    if not computes(name) and not catalogue.stored_by_drift_pass(name):
        kept = ", ".join(
            p for p in catalogue.names_for("live") if computes(p) or p in catalogue.DRIFT_PASS
        )
        raise UsageError(
            f"metric {name!r} is not kept in the monitor's windows",
            hint=f"metrics the windows give: {kept}",
        )


def metric_series(
    store: Store,
    service: str,
    *,
    metrics: list[str] | None = None,
    by: By = "version",
    window: str = "1h",
    since: datetime,
    clock: Clock,
) -> Series:
    """Each metric per key, per bucket of ``window`` from ``since`` to now.

    ``by``: ``version`` or ``arm`` (slice ``all``, the others merged) or ``slice`` (every
    version and arm merged)."""
    if window not in WINDOWS:
        raise UsageError(f"--window {window!r} is not one of {', '.join(WINDOWS)}")
    if by not in ("version", "arm", "slice"):
        raise UsageError(f"--by {by!r} is not one of version, arm, slice")
    names = list(metrics or DEFAULT_METRICS)
    for name in names:
        check_metric(name)
    names, drift_names = _split_drift(names, by)
    spec = get_service_spec(store, service)  # an unknown service: an error naming the known
    now = clock.now()
    size = WINDOWS[window]
    first = int(since.timestamp()) // size
    last = int(now.timestamp()) // size
    if last < first:
        raise UsageError("--since is after now", hint="give a time in the past")
    n = last - first + 1
    merged: dict[str, list[WindowStats | None]] = defaultdict(lambda: [None] * n)
    kept = store.monitoring.windows(service, datetime.fromtimestamp(first * size, UTC))
    for version, arm, slice_, start, stats in kept if names else []:
        if by != "slice" and slice_ != "all":
            continue
        if by == "version":  # the heartbeat's row belongs to no version: a row of its own
            key = f"v{version}" if version else ("gateway" if arm == GATEWAY_ARM else "none")
        else:
            key = arm if by == "arm" else slice_
        b = int(start.timestamp()) // size - first
        if not 0 <= b < n:
            continue
        ws = WindowStats.from_dict(stats)
        have = merged[key][b]
        merged[key][b] = ws if have is None else have.merged(ws)
    series = Series(
        service=service,
        by=by,
        window=window,
        since=datetime.fromtimestamp(first * size, UTC).isoformat(),
        until=now.isoformat(),
        buckets=[datetime.fromtimestamp((first + i) * size, UTC).isoformat() for i in range(n)],
    )
    series.rows += _drift_rows(store, spec, drift_names, by, first, size, n)
    for key in sorted(merged, key=_key_order) if names else []:
        buckets = merged[key]
        whole = WindowStats()
        for part in buckets:
            if part is not None:
                whole = whole.merged(part)
        for name in names:
            values = [None if st is None else _value(st, name) for st in buckets]
            row = MetricRow(key, name, values, _value(whole, name), whole.volume)
            if name.startswith("estimated."):
                row.intervals = [None if st is None else _bounds(st, name) for st in buckets]
                row.total_interval = _bounds(whole, name)
            series.rows.append(row)
    return series


def _split_drift(names: list[str], by: By) -> tuple[list[str], list[str]]:
    """The window metrics and the drift pass's, refused ``--by arm`` (points merge arms)."""
    drift = [m for m in names if catalogue.stored_by_drift_pass(m)]
    if drift and by == "arm":
        raise UsageError(
            f"{drift[0]} is kept per version and slice, not per arm",
            hint="use --by version or --by slice",
        )
    return [m for m in names if m not in drift], drift


def _drift_rows(
    store: Store, spec: ServiceSpec, names: list[str], by: By, first: int, size: int, n: int
) -> list[MetricRow]:
    """Rows of the drift pass's stored points (docs/drift.md, "On live traffic"): each point
    in the bucket its drift window starts in; where a bucket holds several (several drift
    windows, or every version under ``--by slice``), the largest. No value over the period:
    a distance of a day and one of another day do not merge."""
    if not names:
        return []
    window_s = spec.monitoring_settings().drift_window_s()
    values: dict[tuple[str, str], list[float | None]] = defaultdict(lambda: [None] * n)
    volume: dict[tuple[str, str], int] = defaultdict(int)
    points = store.drift.points(
        spec.name,
        metrics=names,
        since=datetime.fromtimestamp(first * size, UTC),
        window_s=window_s,
    )
    for p in points:
        if by == "version" and p.slice != "all":
            continue
        key = (f"v{p.version}" if p.version else "none") if by == "version" else p.slice
        b = int(p.window_start.timestamp()) // size - first
        if not 0 <= b < n:
            continue
        row = values[(key, p.metric)]
        if p.value is not None:
            have = row[b]
            row[b] = p.value if have is None else max(have, p.value)
        volume[(key, p.metric)] += p.rows
    ordered = sorted(values, key=lambda k: (_key_order(k[0]), names.index(k[1])))
    return [MetricRow(k, m, values[(k, m)], None, volume[(k, m)]) for k, m in ordered]


def _value(stats: WindowStats, name: str) -> float | None:
    try:
        return stats.value(name)
    except KeyError:
        return None


def _bounds(stats: WindowStats, name: str) -> tuple[float, float] | None:
    iv = stats.interval(name)
    return None if iv is None else (iv.lower, iv.upper)


def _key_order(key: str) -> tuple[int, int, str]:
    if key == "all":
        return (0, 0, key)
    if key.startswith("v") and key[1:].isdigit():
        return (1, int(key[1:]), key)
    return (2, 0, key)


@dataclass
class ServiceStatus:
    service: str
    watermark: str | None
    feedback_watermark: str | None
    last_run_at: str | None
    rows_read: int
    feedback_read: int
    points_written: int
    unread_rows: int  # stored after the watermark
    lag_s: float | None  # newest stored row minus the watermark
    windows: int  # window rows stored
    # Per version with a calibration: "calibrated on DATASET (N cases)" or why there is no
    # estimated quality.
    estimates: dict[str, str] = field(default_factory=dict)


@dataclass
class Status:
    services: list[ServiceStatus]
    lease_owner: str | None
    lease_expires_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def monitor_status(store: Store) -> Status:
    """Where the monitor stands for every service it has run on."""
    mon = store.monitoring
    out: list[ServiceStatus] = []
    for st in mon.states():
        newest, unread = mon.log_status(st.service, st.watermark)
        lag = None
        if newest is not None and st.watermark is not None:
            lag = max(0.0, (newest - st.watermark).total_seconds())
        out.append(
            ServiceStatus(
                service=st.service,
                watermark=_iso(st.watermark),
                feedback_watermark=_iso(st.feedback_watermark),
                last_run_at=_iso(st.last_run_at),
                rows_read=st.rows_read,
                feedback_read=st.feedback_read,
                points_written=st.windows_written,
                unread_rows=unread,
                lag_s=lag,
                windows=mon.window_count(st.service),
                estimates=_estimates(store, st.service),
            )
        )
    holder = mon.lease_holder("monitor")
    return Status(out, holder[0] if holder else None, holder[1].isoformat() if holder else None)


def _estimates(store: Store, service: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in store.monitoring.calibrations(service):  # the newest fit of a version wins
        out[f"v{c.version}"] = (
            f"calibrated on {c.dataset} ({c.cases} cases)"
            if c.error is None
            else f"no estimated quality: {c.error}"
        )
    return out


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()
