"""Signals the monitor adds to a range of windows from beside the log: outcome events and the
gateway's heartbeat (docs/monitoring.md, *Uptime, requests and outcomes*).

- **Outcomes** (``POST /v1/outcomes``) count per answer: ``extra["outcome.NAME"]`` is the
  number of answers of the (version, arm, slice, window) with a current ``NAME`` event, from
  whichever source, so ``outcome.NAME.rate`` is the share of answers that had it.
- **The heartbeat** (``gateway_ticks``) belongs to no version: each window gets one *gateway
  row*, version 0, arm ``gateway``, slice ``all``, with no answers and the sums of
  :func:`~liveops.core.heartbeat.window_sums` in ``extra``. Rolled up with the service's other
  rows (``metrics show``, alert rules on the whole service) it gives ``uptime``,
  ``availability`` and ``rejected.STATUS``; requests refused before routing (422, 413, 429)
  never reach the log, so this is the only place a broken client shows. Uptime is the
  gateway's: every instance writing ticks to this database counts, whatever it serves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from liveops.core.heartbeat import Tick, window_sums
from liveops.core.monitoring.window import WindowStats
from liveops.services.monitoring.aggregate import Columns
from liveops.store import Store
from liveops.store.monitoring import WINDOW_S, window_start

__all__ = ["GATEWAY_ARM", "add_outcomes", "gateway_points", "gateway_windows", "horizon"]

Array = np.ndarray[Any, Any]
GATEWAY_ARM = "gateway"
# A gateway silent for this many of its tick intervals, and at least this long, is down: the
# time since its last tick is then expected, and uncovered.
DOWN_AFTER_TICKS = 3
DOWN_AFTER_S = 60.0
_WINDOW = timedelta(seconds=WINDOW_S)


def add_outcomes(
    points: list[dict[str, Any]],
    ids: Sequence[str],
    cols: Columns,
    masks: Mapping[str, Array],
    events: Sequence[tuple[str, str]],
) -> None:
    """Count ``events`` (``(prediction_id, outcome)``, ``MonitoringStore.read_outcomes``)
    into ``points`` (``aggregate``'s rows, in place): one per answer and outcome name."""
    row_of = {pid: i for i, pid in enumerate(ids)}
    pairs = {(row_of[pid], name) for pid, name in events if pid in row_of}
    if not pairs:
        return
    by_key = {(p["version"], p["arm"], p["slice"], p["window"]): p["stats"] for p in points}
    rows = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
    names = [name for _, name in pairs]
    groups = [cols.groups[g] for g in cols.group[rows].tolist()]
    windows = cols.window[rows].tolist()
    for slice_name, mask in masks.items():
        for j in np.flatnonzero(mask[rows]).tolist():
            version, arm = groups[j]
            stats = by_key.get((version, arm, slice_name, windows[j]))
            if stats is not None:  # every answered row has its point
                key = f"outcome.{names[j]}"
                stats["extra"][key] = stats["extra"].get(key, 0.0) + 1.0


def gateway_windows(store: Store, service: str, *, full: bool, now: datetime) -> list[int]:
    """The windows whose heartbeat the pass recomputes: from the newest gateway row already
    stored (less one window, for ticks stored late) to the heartbeat's horizon
    (:func:`horizon`); every window from the first tick on a full pass. A gap in the ticks
    shows as windows of low uptime once the gateway ticks again, or once it has been silent
    long enough to be down."""
    span = horizon(store, now)
    if span is None:
        return []
    first = int(span[0].timestamp()) // WINDOW_S
    last = int(span[1].timestamp()) // WINDOW_S
    if not full:
        stored = store.monitoring.last_window_of_arm(service, 0, GATEWAY_ARM)
        if stored is not None:
            first = max(first, min(stored - 1, _last_covered(store, service, stored)))
    return list(range(first, last + 1))


def _last_covered(store: Store, service: str, stored: int) -> int:
    """The newest stored gateway window that a tick covered (within a day before ``stored``,
    the newest stored one): windows after it were written while the gateway was silent, so
    they are recomputed until ticks stored late (a simulated clock catching up, ticks held in
    memory through a database outage) are counted, or for a day."""
    day = 86400 // WINDOW_S
    rows = store.monitoring.arm_windows(service, 0, GATEWAY_ARM, window_start(stored - day))
    covered = [w for w, stats in rows if (stats.get("extra") or {}).get("uptime.covered_s")]
    return max(covered, default=stored - day)


def horizon(store: Store, now: datetime) -> tuple[datetime, datetime] | None:
    """The first tick and the heartbeat's horizon, the time up to which ticks are expected:
    the newest tick while the gateway ticks or after it stopped cleanly (its last tick says
    so), or ``now`` once every instance has been silent for :data:`DOWN_AFTER_TICKS` of the
    newest tick's intervals (at least a minute) without such a stop. So a gateway that crashed
    and stays down shows as windows of falling, then zero, uptime, not as no windows at all.
    None without ticks."""
    span = store.ticks.span()
    if span is None:
        return None
    first, newest = span
    last = store.ticks.newest()
    if any(t["stopped"] for t in last):
        return first, newest
    interval = max((float(t["interval_s"]) for t in last), default=0.0)
    silent = newest + timedelta(seconds=max(DOWN_AFTER_S, DOWN_AFTER_TICKS * interval))
    return first, (now if now > silent else newest)


def gateway_points(
    store: Store, service: str, runs: Sequence[tuple[int, int]], now: datetime
) -> list[dict[str, Any]]:
    """The gateway rows of the windows of ``runs`` from the first tick to the horizon
    (:func:`horizon`): every one the heartbeat covers, since the pass replaces whole
    windows."""
    span = horizon(store, now)
    if span is None:
        return []
    until = span[1]
    lo_w, hi_w = int(span[0].timestamp()) // WINDOW_S, int(span[1].timestamp()) // WINDOW_S
    out: list[dict[str, Any]] = []
    for first, end in runs:
        # A tick covers the interval before it: ticks up to a window past the run's end count.
        ticks = [
            Tick(t["instance_id"], t["tick_at"], float(t["interval_s"]), t["counts"] or {})
            for t in store.ticks.between(window_start(first), window_start(end) + _WINDOW)
        ]
        by_window: dict[int, list[Tick]] = defaultdict(list)
        for t in ticks:
            lo = int((t.tick_at - timedelta(seconds=t.interval_s)).timestamp()) // WINDOW_S
            for w in range(
                max(lo, first), min(int(t.tick_at.timestamp()) // WINDOW_S, end - 1) + 1
            ):
                by_window[w].append(t)
        for w in range(max(first, lo_w), min(end, hi_w + 1)):
            sums = window_sums(by_window[w], service, window_start(w), _end(w), until)
            if sums:
                stats = WindowStats(extra=sums).to_dict()
                out.append(
                    {"version": 0, "arm": GATEWAY_ARM, "slice": "all", "window": w, "stats": stats}
                )
    return out


def _end(window: int) -> datetime:
    return window_start(window + 1)
