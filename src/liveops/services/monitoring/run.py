"""One pass of the monitor: read what the log and feedback gained, recompute the windows it
touches, advance the watermark.

The watermark is on the time a row was *stored* (``logged_at``), not its request time, so a row
committed late, replayed from a gateway's spool or carrying an older timestamp is still read:
each pass reads rows stored after ``watermark - overlap`` and feedback stored (``stored_at``,
not the label's own time, which an import keeps) after the feedback watermark minus the same
overlap. The windows those rows (and the predictions that
feedback is about) fall in, by *request* time, are recomputed completely from their raw rows
and replaced, in batches of at most :data:`BATCH_WINDOWS` windows, one transaction each (a
batch holds consecutive windows, or windows scattered over the past days when late feedback
touched them: a pass a minute typically touches a hundred such windows, one here and one
there). A row read twice is therefore counted once, and a pass stopped half-way leaves every
window either as it was or recomputed; the watermark moves only after the last batch, so the
next pass redoes what was left.

Only one pass runs at a time across processes and backends: the pass takes a lease (a row
with an owner and an expiry) and renews it after every batch; another pass that finds it held
returns at once, saying who holds it.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import ServiceSpec
from liveops.errors import ServiceNotFound
from liveops.services.drift.live import References
from liveops.services.monitoring.aggregate import aggregate, columns_of, with_model_labels
from liveops.services.monitoring.drift_pass import drift_pass
from liveops.services.monitoring.estimates import Calibrators, add_estimates
from liveops.services.monitoring.scopes import Scopes, log_value_counts, scopes_for
from liveops.services.monitoring.signals import add_outcomes, gateway_points, gateway_windows
from liveops.services.registry import get_service_spec
from liveops.store import Store
from liveops.store.monitoring import MonitorState

__all__ = [
    "BATCH_WINDOWS",
    "LEASE",
    "OVERLAP",
    "MonitorReport",
    "Progress",
    "ServiceReport",
    "run_monitor",
]

OVERLAP = timedelta(minutes=5)  # a log writer commits its batch well within this
BATCH_WINDOWS = 48  # at most four hours of rows per transaction: memory stays flat
LEASE = "monitor"
LEASE_TTL_S = 300.0

Progress = Callable[[str, int, int], None]  # (service, batches done, batches in all)


@dataclass
class ServiceReport:
    """What one pass did for one service."""

    service: str
    rows_read: int = 0  # log rows stored since the watermark (minus the overlap)
    feedback_read: int = 0
    windows_recomputed: int = 0  # 5-minute windows read again from raw rows
    points_written: int = 0  # window rows written (one per version, arm, slice, window)
    watermark: str | None = None
    full: bool = False
    notes: list[str] = field(default_factory=list)
    slices: list[str] = field(default_factory=list)
    drift_windows: int = 0  # drift windows computed (docs/drift.md, "On live traffic")
    drift_points: int = 0
    drift_seconds: float = 0.0


@dataclass
class MonitorReport:
    """What one pass did; ``ran`` is False when another runner held the lease."""

    ran: bool
    owner: str
    services: list[ServiceReport] = field(default_factory=list)
    skipped: str | None = None
    retention: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    alerts: list[dict[str, Any]] = field(default_factory=list)  # what the rules judged

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_owner() -> str:
    """``host:pid:random``: who holds the lease, as status shows it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_monitor(
    store: Store,
    project_dir: Path | None = None,
    service: str | None = None,
    *,
    clock: Clock | None = None,
    full: bool = False,
    progress: Progress | None = None,
    owner: str | None = None,
    retention: bool = False,
    references: References | None = None,
    log_overlap: timedelta = OVERLAP,
) -> MonitorReport:
    """Bring the windows of ``service`` (default: every service in the log) up to date.

    ``full`` recomputes every window that has rows. ``retention`` also deletes windows and
    log rows past the services' retention (the background runner does this).
    ``project_dir`` is where the suite files are read from (for the suite's slices).
    ``references`` keeps the drift references read (the background runner passes the same
    one every pass, so a reference dataset is read once per process). ``log_overlap``: how far
    before the watermark the log is read again (:data:`OVERLAP`); a caller that knows no log
    row is in flight, because it waited until every answer it sent was stored and nobody else
    writes (a simulation with its own gateway), passes 0 and reads only what is new.

    >>> import tempfile
    >>> from liveops.store import open_store
    >>> store = open_store("sqlite://", project_dir=Path(tempfile.mkdtemp()))
    >>> report = run_monitor(store)
    >>> report.ran, report.services
    (True, [])
    """
    clock = clock or SystemClock()
    owner = owner or default_owner()
    started = time.perf_counter()
    mon = store.monitoring
    if not mon.acquire(LEASE, owner, clock.now(), LEASE_TTL_S):
        holder = mon.lease_holder(LEASE)
        who = f"{holder[0]} until {holder[1].isoformat()}" if holder else "another runner"
        return MonitorReport(ran=False, owner=owner, skipped=f"the lease is held by {who}")
    report = MonitorReport(ran=True, owner=owner)
    refs = references or References()
    try:
        names = [service] if service is not None else _services(store)
        for name in names:
            spec = _spec(store, name, must_exist=service is not None)
            report.services.append(
                _one_service(
                    store, name, spec, project_dir, clock, full, progress, owner, refs, log_overlap
                )
            )
        report.alerts = _judge_alerts(store, report.services, project_dir, clock)
        if retention:
            from liveops.services.monitoring.retention import enforce_retention

            report.retention = enforce_retention(store, clock)
    finally:
        mon.release(LEASE, owner)
    report.seconds = time.perf_counter() - started
    return report


def _judge_alerts(
    store: Store, done: list[ServiceReport], project_dir: Path | None, clock: Clock
) -> list[dict[str, Any]]:
    """The alert rules of the services just brought up to date (docs/alerts.md): they only
    queue notifications, so a receiver never slows the pass."""
    from liveops.services.alerts import evaluate_alerts

    return [
        evaluate_alerts(store, s.service, clock=clock, project_dir=project_dir).to_dict()
        for s in done
    ]


def _services(store: Store) -> list[str]:
    applied = {s.name for s in store.registry.list_services()}
    return sorted(applied | set(store.monitoring.services_logged()))


def _spec(store: Store, name: str, *, must_exist: bool) -> ServiceSpec | None:
    try:
        return get_service_spec(store, name)
    except ServiceNotFound:
        if must_exist and not store.predictions.count(name):
            raise
        return None  # rows of a service no longer applied: still monitored, without slices


def _one_service(
    store: Store,
    name: str,
    spec: ServiceSpec | None,
    project_dir: Path | None,
    clock: Clock,
    full: bool,
    progress: Progress | None,
    owner: str,
    refs: References,
    log_overlap: timedelta = OVERLAP,
) -> ServiceReport:
    mon = store.monitoring
    state = mon.state(name)
    read_at = clock.now()  # saved as last_run_at: what this pass could see
    outcomes = mon.any_outcomes()
    report = ServiceReport(name, full=full or state is None)
    if report.full:
        span = mon.window_span(name)
        windows = [] if span is None else list(range(span[0], span[1] + 1))
        _, top_log, report.rows_read = (
            mon.touched_by_log(name, None, windows=False) if span else ([], None, 0)
        )
        _, top_fb, report.feedback_read = mon.touched_by_feedback(name, None, windows=False)
        _, top_out, _ = mon.touched_by_outcomes(name, None) if outcomes else ([], None, 0)
        windows = sorted(
            set(windows) | set(gateway_windows(store, name, full=True, now=clock.now()))
        )
        by_log: list[int] = []
    else:
        assert state is not None
        after = None if state.watermark is None else state.watermark - log_overlap
        fafter = _feedback_after(state)
        by_log, top_log, report.rows_read = mon.touched_by_log(name, after)
        by_fb, top_fb, report.feedback_read = mon.touched_by_feedback(name, fafter)
        # outcome events share the feedback watermark: both are stored after their answer
        by_out, top_out, _ = mon.touched_by_outcomes(name, fafter) if outcomes else ([], None, 0)
        ticked = gateway_windows(store, name, full=False, now=clock.now())
        windows = sorted(set(by_log) | set(by_fb) | set(by_out) | set(ticked))
    scopes = scopes_for(
        store, spec, project_dir, clock, log_counts=lambda f: log_value_counts(store, name, f)
    )
    report.notes += scopes.notes
    report.slices = scopes.names()
    unhelpful = spec.monitoring_settings().unhelpful_at_most if spec else 2.0
    cals = Calibrators(store, spec, project_dir, clock, scopes.suite_slices, scopes.text_field)
    batches = _batches(windows)
    for done, runs in enumerate(batches, start=1):
        report.points_written += _recompute(
            store, name, scopes, runs, clock, unhelpful, cals, outcomes=outcomes
        )
        report.windows_recomputed += sum(end - first for first, end in runs)
        mon.acquire(LEASE, owner, clock.now(), LEASE_TTL_S)  # renew: the pass is alive
        if progress is not None:
            progress(name, done, len(batches))
    report.notes += cals.notes
    drift = drift_pass(
        store,
        name,
        spec,
        scopes,
        by_log,
        clock,
        full=report.full,
        references=refs,
        tick=lambda: mon.acquire(LEASE, owner, clock.now(), LEASE_TTL_S),  # renew the lease
    )
    report.drift_windows, report.drift_points = drift.windows_computed, drift.points_written
    report.drift_seconds = drift.seconds
    report.notes += drift.notes
    old = state or MonitorState(name, None, None, None, 0, 0, 0)
    watermark = _later(old.watermark, top_log)
    mon.save_state(
        MonitorState(
            service=name,
            watermark=watermark,
            feedback_watermark=_later(old.feedback_watermark, _later(top_fb, top_out)),
            last_run_at=read_at,
            rows_read=report.rows_read,
            feedback_read=report.feedback_read,
            windows_written=report.points_written,
        )
    )
    report.watermark = watermark.isoformat() if watermark else None
    return report


def _feedback_after(state: MonitorState) -> datetime | None:
    """Where this pass starts reading feedback (and outcome events): the overlap before the
    newer of the feedback watermark and the previous pass's start.

    Feedback is stamped with the time it is stored, and a writer commits within
    :data:`OVERLAP` of that time, so everything stored more than the overlap before the
    previous pass began was visible to it and has been counted. Without the second bound a
    pass with no new
    feedback would read the overlap's feedback again every time, and recompute the windows of
    the predictions it is about (scattered over the past days); with it, a quiet pass reads
    only what arrived since the last one. Feedback times ahead of the monitor's clock (another
    host's clock) fall back on the watermark alone.
    """
    latest = _later(state.feedback_watermark, state.last_run_at)
    return None if latest is None else latest - OVERLAP


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


Runs = list[tuple[int, int]]  # runs of consecutive windows: (first, end), end exclusive


def _batches(windows: Sequence[int]) -> list[Runs]:
    """The sorted ``windows`` in batches of at most BATCH_WINDOWS windows, each batch as its
    runs of consecutive windows.

    >>> _batches([1, 2, 3, 7, 8])
    [[(1, 4), (7, 9)]]
    >>> [sum(e - f for f, e in b) for b in _batches(list(range(100)))]
    [48, 48, 4]
    """
    out: list[Runs] = []
    size = 0
    for w in windows:
        if not out or size == BATCH_WINDOWS:
            out.append([])
            size = 0
        runs = out[-1]
        if runs and runs[-1][1] == w:
            runs[-1] = (runs[-1][0], w + 1)
        else:
            runs.append((w, w + 1))
        size += 1
    return out


def _recompute(
    store: Store,
    name: str,
    scopes: Scopes,
    runs: Runs,
    clock: Clock,
    unhelpful_at_most: float,
    calibrators: Calibrators,
    *,
    outcomes: bool = True,
) -> int:
    """Recompute the windows of ``runs`` from their raw rows and replace them; ``outcomes``:
    whether any outcome event is stored."""
    mon = store.monitoring
    rows = mon.read_rows(name, runs, inputs=scopes.needs_inputs)
    fb = mon.read_feedback(name, runs) if rows else []
    fields = [s.name for s in scopes.segments]
    cols = columns_of(rows, fb, fields)
    ids = [r[1] for r in rows]
    # Quality is judged on the model's own label (for an answer held for review or given by
    # a fallback: the top of its scores). The estimate (CBPE) reads every answer's scores;
    # without a calibrator only the answers that were not the model's are read and parsed.
    estimating = any(calibrators.get(v) is not None for v, _ in cols.groups if v > 0)
    raw = mon.read_scores(name, runs, automatic=estimating) if rows else []
    cols, scores = with_model_labels(cols, ids, raw)
    masks = scopes.masks(cols.inputs, cols.segments, cols.n)
    points = aggregate(cols, masks, unhelpful_at_most=unhelpful_at_most)
    if rows and estimating:  # the label-free estimate: its sums into the same points
        add_estimates(points, ids, cols, masks, scores, calibrators)
    if rows and outcomes:
        add_outcomes(points, ids, cols, masks, mon.read_outcomes(name, runs))
    points += gateway_points(store, name, runs, clock.now())  # uptime, refused requests
    mon.replace_windows(name, runs, points, clock.now())
    return len(points)
