"""``drift.COLUMN`` rules: the monitor's drift pass stores the column's statistic per
version, slice and drift window (docs/drift.md, "On live traffic"); a rule reads the newest
stored window that ends inside its span. Where there is none (the pass has not run since the
window ended, the rule names an arm, or the service keeps no drift points yet), the rule reads
its span's logged (redacted) inputs and compares the column with the service's reference
(``reference:``, else the version's training set) with :func:`drift_report`, the same
statistics as ``docs/drift.md``. The value is the column's statistic (normalised Wasserstein
for numbers, Jensen-Shannon for categories and text)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from liveops.core.alerting.rules import WINDOW_S
from liveops.core.project import ServiceSpec
from liveops.services.drift import reference_ref
from liveops.store import Store

__all__ = ["drift_values", "stored_drift_values"]


def stored_drift_values(
    store: Store,
    spec: ServiceSpec,
    metric: str,
    version: int | None,
    slice_: str,
    start: datetime,
    end: datetime,
) -> dict[int, tuple[float | None, int]]:
    """``{version: (value, rows)}`` of the newest stored drift window of each version that
    ends in ``(start, end]``, for ``slice_``; empty when none is stored."""
    size = spec.monitoring_settings().drift_window_s()
    window = timedelta(seconds=size)
    out: dict[int, tuple[float | None, int]] = {}
    for p in store.drift.points(
        spec.name, metrics=[metric], since=start - window, until=end, window_s=size
    ):
        if p.slice != slice_ or (version is not None and p.version != version):
            continue
        if start < p.window_start + window <= end:
            out[p.version] = (p.value, p.rows)  # oldest first: the newest wins
    return out


def drift_values(
    store: Store,
    spec: ServiceSpec,
    metric: str,
    version: int | None,
    arm: str | None,
    start: datetime,
    end: datetime,
    slice_: str = "all",
) -> tuple[dict[int, tuple[float | None, int]], str | None]:
    """``{version: (statistic, rows compared)}`` of ``metric``'s column in ``[start, end)``,
    and a note when it cannot be computed: the stored drift points when there are some
    (:func:`stored_drift_values`), else computed from the log (every slice)."""
    if arm is None:
        stored = stored_drift_values(store, spec, metric, version, slice_, start, end)
        if stored:
            return stored, None
    if not metric.startswith("drift."):
        return {}, f"no stored {metric} point yet: the monitor's drift pass stores it per window"
    from liveops.core.drift.report import drift_report
    from liveops.errors import LiveopsError
    from liveops.services.datasets import load_frame, resolve_dataset

    column = metric.split(".", 1)[1]
    first, last = int(start.timestamp()) // WINDOW_S, int(end.timestamp()) // WINDOW_S
    rows = store.monitoring.read_rows(spec.name, [(first, last)], inputs=True)
    current: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        v, a, inputs = r[2], r[3], r[-1]
        if v is None or (version is not None and v != version) or (arm and a != arm):
            continue
        values = json.loads(inputs) if isinstance(inputs, str) else inputs or {}
        current[int(v)].append(values.get(column))
    if not current:
        return {}, None
    ref = reference_ref(store, spec, version)
    if ref is None:
        return {}, "no reference dataset (set reference: in liveops.yaml)"
    try:
        frame = load_frame(store, resolve_dataset(store, ref), reference=True)
    except LiveopsError as exc:
        return {}, f"reference {ref}: {exc.message}"
    if column not in frame.columns:
        return {}, f"column {column!r} is not in the reference {ref}"
    reference = {column: frame[column].tolist()}
    out: dict[int, tuple[float | None, int]] = {}
    for v, values in current.items():
        present = [x for x in values if x is not None]
        if not present:
            out[v] = (None, 0)
            continue
        report = drift_report(reference, {column: present}, columns=[column])
        stat = report.columns[0].statistic
        out[v] = (None if math.isnan(stat) else float(stat), len(present))
    return out, None
