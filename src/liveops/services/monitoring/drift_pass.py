"""The monitor's drift pass: per service, version and slice, each complete drift window's
logged inputs against the service's reference, stored as points (``drift.COLUMN``,
``missing.COLUMN``, ``oov_rate.COLUMN``, ``drift_pvalue.COLUMN``; docs/drift.md, "On live
traffic").

The 5-minute windows keep counts, not input values, so drift is computed from the logged
(redacted) inputs of a whole drift window (``monitoring.drift_window``, a UTC day by default)
once it is complete: once its end is :data:`~liveops.services.monitoring.run.OVERLAP` in the
past, so the log writers have committed its rows. Each pass computes the windows completed
since the last one (``drift_state`` says how far it got) and recomputes an older window only
when a row of it was stored after its points were computed (a late row: the rows the monitor
read this pass point at the candidate windows, one ``max(logged_at)`` query each tells). A
window is replaced whole in one transaction, so two passes store the same rows.

A scope (version, slice) with fewer than ``monitoring.drift_min_rows`` rows in a window stores
``drift.COLUMN`` with its row count and no value. The same check serves
``liveops drift --service`` (:func:`live_drift`) on the last complete window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.clock import Clock
from liveops.core.drift.check import DriftCheck
from liveops.core.project import ServiceSpec, window_seconds
from liveops.errors import LiveopsError, ObjectNotFound, UsageError
from liveops.services.drift.live import References, live_check, live_points
from liveops.services.monitoring.aggregate import columns_of
from liveops.services.monitoring.scopes import ALL, Scopes, log_value_counts, scopes_for
from liveops.services.registry import get_service_spec
from liveops.store import Store
from liveops.store.drift_points import DriftPoint
from liveops.store.monitoring import WINDOW_S

__all__ = ["DriftPassReport", "LiveDrift", "drift_pass", "live_drift"]

OVERLAP = timedelta(minutes=5)  # as the monitor's: a log writer commits well within it


@dataclass
class DriftPassReport:
    """What one drift pass did for one service."""

    window: str = ""
    windows_computed: int = 0
    points_written: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _start(index: int, size: int) -> datetime:
    return datetime.fromtimestamp(index * size, UTC)


def last_complete(now: datetime, size: int) -> int:
    """The number of the newest drift window of ``size`` seconds that is complete at ``now``.

    >>> last_complete(datetime(2026, 3, 3, 0, 4, tzinfo=UTC), 86400) * 86400
    1772323200
    >>> last_complete(datetime(2026, 3, 3, 0, 6, tzinfo=UTC), 86400) * 86400
    1772409600
    """
    return int((now - OVERLAP).timestamp()) // size - 1


def drift_pass(
    store: Store,
    name: str,
    spec: ServiceSpec | None,
    scopes: Scopes,
    touched: Sequence[int],
    clock: Clock,
    *,
    full: bool = False,
    references: References | None = None,
    tick: Callable[[], object] | None = None,
) -> DriftPassReport:
    """Compute the drift windows of ``name`` completed since the last pass, and those of
    ``touched`` (5-minute windows the monitor read rows of) that got late rows; ``full``:
    every complete window with rows. ``tick`` is called after each window (the monitor
    renews its lease: a first pass over a long log computes many)."""
    import time

    started = time.perf_counter()
    report = DriftPassReport()
    if spec is None:
        return report
    settings = spec.monitoring_settings()
    size = settings.drift_window_s()
    report.window = settings.drift_window
    per = size // WINDOW_S
    mon = store.monitoring
    span = mon.window_span(name)
    if span is None:
        return report
    now = clock.now()
    newest = min(last_complete(now, size), span[1] // per)
    # Windows past retention would be deleted again at once: a first pass over a long log
    # starts where retention ends.
    kept_from = int((now - timedelta(days=settings.retention_days)).timestamp()) // size
    first = max(span[0] // per, kept_from)
    done = store.drift.done_until(name, size)
    next_new = first if full or done is None else max(first, int(done.timestamp()) // size)
    todo = set(range(next_new, newest + 1))
    if not full:
        old = sorted({w // per for w in touched} - todo)
        todo |= set(store.drift.late_windows(name, size, [w for w in old if w <= newest]))
    refs = references or References()
    said: set[str] = set()
    for index in sorted(todo):
        points = window_points(store, name, spec, scopes, index, size, refs, said)
        store.drift.replace_window(
            name,
            size,
            _start(index, size),
            points,
            clock.now(),
            done_until=_start(index + 1, size),
        )
        report.windows_computed += 1
        report.points_written += len(points)
        if tick is not None:
            tick()
    report.notes += sorted(said)
    report.seconds = time.perf_counter() - started
    return report


def _scoped_rows(
    store: Store, name: str, scopes: Scopes, index: int, size: int
) -> tuple[list[dict[str, Any]], np.ndarray[Any, Any], dict[str, np.ndarray[Any, Any]]]:
    """The window's logged inputs, their versions (0: none) and the slices' masks."""
    per = size // WINDOW_S
    rows = store.monitoring.read_rows(name, [(index * per, (index + 1) * per)], inputs=True)
    cols = columns_of(rows, [], [s.name for s in scopes.segments])
    inputs = cols.inputs or []
    versions = np.fromiter((r[2] or 0 for r in rows), dtype=np.int64, count=len(rows))
    return inputs, versions, scopes.masks(inputs, cols.segments, cols.n)


def window_points(
    store: Store,
    name: str,
    spec: ServiceSpec,
    scopes: Scopes,
    index: int,
    size: int,
    refs: References,
    notes: set[str],
) -> list[DriftPoint]:
    """The points of one drift window: per version and slice with rows, every column's."""
    inputs, versions, masks = _scoped_rows(store, name, scopes, index, size)
    min_rows = spec.monitoring_settings().drift_min_rows
    start = _start(index, size)
    out: list[DriftPoint] = []
    for version in sorted(set(versions.tolist())):
        try:
            ref = refs.get(store, spec, version)
        except LiveopsError as exc:
            notes.add(f"drift of v{version} skipped: {exc.message}")
            continue
        in_version = versions == version
        for slice_, mask in masks.items():
            picked = np.flatnonzero(in_version & mask)
            n = int(picked.size)
            if n == 0:
                continue
            check = None
            if n >= min_rows:
                sub = [inputs[i] for i in picked]
                check = live_check(ref, sub, f"{name} v{version} {slice_} {start:%Y-%m-%d %H:%M}")
            for p in live_points(check, ref.columns, n):
                out.append(
                    DriftPoint(
                        version=version,
                        slice=slice_,
                        window_start=start,
                        window_s=size,
                        metric=p.metric,
                        value=p.value,
                        threshold=p.threshold,
                        drifted=p.drifted,
                        rows=n,
                        reference=ref.ref,
                    )
                )
    return out


@dataclass(frozen=True)
class LiveDrift:
    """``liveops drift --service``: the check and the window it read."""

    service: str
    version: int | None
    slice: str
    window: str
    start: datetime
    end: datetime
    reference: str
    check: DriftCheck

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "version": self.version,
            "slice": self.slice,
            "window": self.window,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reference_dataset": self.reference,
            **self.check.to_dict(),
        }


def live_drift(
    store: Store,
    service: str,
    *,
    clock: Clock,
    project_dir: Path | None = None,
    window: str | None = None,
    version: int | None = None,
    slice_: str = ALL,
    columns: Sequence[str] | None = None,
    tests: bool = False,
) -> LiveDrift:
    """The drift check of ``service``'s last complete window (default: its
    ``monitoring.drift_window``) of logged inputs against its reference."""
    spec = get_service_spec(store, service)
    text = window or spec.monitoring_settings().drift_window
    try:
        size = window_seconds(text)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    scopes = scopes_for(
        store, spec, project_dir, clock, log_counts=lambda f: log_value_counts(store, service, f)
    )
    if slice_ not in scopes.names():
        raise UsageError(
            f"{service} has no slice {slice_!r}", hint=f"its slices: {', '.join(scopes.names())}"
        )
    refs = References()
    ref = refs.get(store, spec, version)  # no reference: an error before reading the log
    index = last_complete(clock.now(), size)
    start, end = _start(index, size), _start(index + 1, size)
    inputs, versions, masks = _scoped_rows(store, service, scopes, index, size)
    mask = masks[slice_] if slice_ in masks else np.zeros(len(inputs), dtype=bool)
    if version is not None:
        mask = mask & (versions == version)
    picked = [inputs[i] for i in np.flatnonzero(mask)]
    scope = (
        f"{service}"
        + (f" v{version}" if version is not None else "")
        + (f" slice {slice_}" if slice_ != ALL else "")
    )
    if len(picked) < 2:
        raise ObjectNotFound(
            f"{scope} logged {len(picked)} answer{'s' if len(picked) != 1 else ''} in the last "
            f"complete {text} window ({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC): "
            "drift needs at least 2",
            hint="choose a longer --window (e.g. 7d), or check that the gateway logs answers",
        )
    source = f"{scope}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    check = live_check(ref, picked, source, columns=columns, tests=tests)
    return LiveDrift(service, version, slice_, text, start, end, ref.ref, check)
