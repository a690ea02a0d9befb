"""Gateway heartbeats: when ticks are due, and what a window's ticks say (uptime, refusals).

Every gateway instance writes a tick every ``interval_s``: a tick at ``tick_at`` says the
instance was up during ``[tick_at - interval_s, tick_at)`` and carries, per service, the
requests it received in that interval and how many it answered with each error status. Shared
by the gateway (which writes ticks) and the monitor (which reads a window's ticks), so it sits in
core's flat modules.

- **uptime** of a window is the share of the window covered by at least one instance's tick
  (several replicas count once): ticks with a heartbeat / ticks expected, also when replicas
  tick at different phases or intervals.
- **rejected.STATUS** counts requests refused with that status (413 too large, 422 not fitting
  the inputs, 429 queue full); requests that were refused never reach the prediction log.
- **availability** here is the share of requests not answered with a server error (5xx);
  refusals (4xx) are the caller's.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> ticks = [Tick("a", t0 + timedelta(seconds=s), 10.0, {}) for s in (10, 20, 40)]
>>> uptime(ticks, t0, t0 + timedelta(seconds=40))  # 0-10, 10-20 and 30-40 beat; 20-30 not
0.75
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "REFUSED",
    "Tick",
    "availability",
    "due_ticks",
    "request_counts",
    "uptime",
    "window_sums",
]

REFUSED = ("413", "422", "429")  # the statuses ``rejected.STATUS`` is written for


@dataclass(frozen=True)
class Tick:
    """One instance's heartbeat. ``counts``: ``{service: {"requests": n, "422": n, ...}}``."""

    instance_id: str
    tick_at: datetime
    interval_s: float
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


def due_ticks(
    last: datetime, now: datetime, interval_s: float, *, catch_up: bool
) -> list[datetime]:
    """The tick times after ``last`` (the previous tick, or the start) up to ``now``.

    ``catch_up=False`` (the wall clock): only the latest one; the ticks skipped meanwhile were
    not written because the process was stalled, and uptime must show it. ``catch_up=True`` (a
    simulated clock that requests move forward): every one, since the gateway answered
    throughout.

    >>> from datetime import UTC, datetime
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> [t.second for t in due_ticks(t0, t0.replace(second=35), 10, catch_up=True)]
    [10, 20, 30]
    >>> [t.second for t in due_ticks(t0, t0.replace(second=35), 10, catch_up=False)]
    [30]
    >>> due_ticks(t0, t0.replace(second=9), 10, catch_up=True)
    []
    """
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    n = int((now - last).total_seconds() // interval_s)
    if n <= 0:
        return []
    step = timedelta(seconds=interval_s)
    first = n if not catch_up else 1
    return [last + step * k for k in range(first, n + 1)]


def uptime(ticks: Iterable[Tick], start: datetime, end: datetime) -> float | None:
    """The share of ``[start, end)`` covered by some tick's interval (None: an empty window).

    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> at = lambda s: t0 + timedelta(seconds=s)
    >>> uptime([Tick("a", at(10), 10), Tick("b", at(10), 10), Tick("a", at(30), 10)], t0, at(40))
    0.5
    """
    span = (end - start).total_seconds()
    if span <= 0:
        return None
    pieces = sorted(
        (max(t.tick_at - timedelta(seconds=t.interval_s), start), min(t.tick_at, end))
        for t in ticks
    )
    covered = 0.0
    reach = start
    for lo, hi in pieces:
        lo = max(lo, reach)
        if hi > lo:
            covered += (hi - lo).total_seconds()
            reach = hi
    return covered / span


def request_counts(ticks: Iterable[Tick], service: str | None = None) -> dict[str, int]:
    """``requests`` and the count of each error status over ``ticks`` (one service or all).

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ticks = [Tick("a", t, 10, {"router": {"requests": 5, "422": 2}, "x": {"requests": 1}}),
    ...          Tick("b", t, 10, {"router": {"requests": 3, "429": 1}})]
    >>> request_counts(ticks, "router")
    {'requests': 8, '422': 2, '429': 1}
    """
    out: dict[str, int] = {}
    for t in ticks:
        for name, counts in t.counts.items():
            if service is not None and name != service:
                continue
            for key, n in counts.items():
                out[key] = out.get(key, 0) + int(n)
    return out


def availability(counts: Mapping[str, int]) -> float | None:
    """Requests not answered with a 5xx / requests (None when there were none).

    >>> availability({"requests": 10, "422": 2, "503": 1})
    0.9
    """
    total = counts.get("requests", 0)
    if total <= 0:
        return None
    failed = sum(n for k, n in counts.items() if k.isdigit() and k.startswith("5"))
    return (total - failed) / total


def window_sums(
    ticks: Iterable[Tick], service: str, start: datetime, end: datetime, horizon: datetime
) -> dict[str, float]:
    """What one window ``[start, end)`` of ``service`` gets from the heartbeat, as sums that
    merge by addition: seconds covered by a tick and seconds expected (``uptime.covered_s``,
    ``uptime.expected_s``), ``requests``, ``status.5xx`` and ``rejected.STATUS`` per 4xx status.

    Time after ``horizon`` (the newest tick read) is not expected yet: the window that is still
    filling counts only what has passed, and is recomputed by the next pass. Requests count in
    the window of the tick that carried them. Empty when nothing of the window has passed and
    no tick in it carried requests.

    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> at = lambda s: t0 + timedelta(seconds=s)
    >>> ticks = [Tick("a", at(100), 100, {"router": {"requests": 9, "422": 2, "503": 1}}),
    ...          Tick("a", at(300), 100)]
    >>> sums = window_sums(ticks, "router", t0, at(300), at(300))
    >>> sums["uptime.covered_s"], sums["uptime.expected_s"], sums["requests"]
    (200.0, 300.0, 9.0)
    >>> sums["status.5xx"], sums["rejected.422"]
    (1.0, 2.0)
    >>> window_sums(ticks, "router", t0, at(300), at(150))["uptime.expected_s"]
    150.0
    >>> window_sums(ticks, "router", at(300), at(600), at(300))  # nothing of it has passed
    {}
    """
    stop = min(end, horizon)
    span = max(0.0, (stop - start).total_seconds())
    ticks = list(ticks)
    counts = request_counts((t for t in ticks if start <= t.tick_at < end), service)
    if span == 0 and not counts:
        return {}
    share = (uptime(ticks, start, stop) or 0.0) if span else 0.0
    out = {
        "uptime.covered_s": share * span,
        "uptime.expected_s": span,
        "requests": float(counts.get("requests", 0)),
        "status.5xx": float(sum(n for k, n in counts.items() if k.isdigit() and k[0] == "5")),
    }
    for status, n in sorted(counts.items()):
        if status.isdigit() and status[0] == "4":
            out[f"rejected.{status}"] = float(n)
    return out
