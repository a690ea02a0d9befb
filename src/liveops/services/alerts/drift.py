"""``drift.COLUMN`` rules: the monitor's windows keep counts, not input values, so a drift rule
reads its span's logged (redacted) inputs and compares the column with the service's
reference (``reference:``, else the version's training set) with :func:`drift_report`, the
same statistics as ``docs/drift.md``. The value is the column's statistic (normalised
Wasserstein for numbers, Jensen-Shannon for categories and text)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime
from typing import Any

from liveops.core.alerting.rules import WINDOW_S
from liveops.core.project import ServiceSpec
from liveops.store import Store

__all__ = ["drift_values"]


def _reference_ref(store: Store, spec: ServiceSpec, version: int | None) -> str | None:
    if spec.reference:
        return spec.reference
    versions = store.registry.list_versions(spec.name)
    pick = [v for v in versions if version is None or v.number == version]
    for v in reversed(pick):
        ref = ((v.lineage.get("datasets") or {}).get("train") or {}).get("ref")
        if isinstance(ref, str):
            return ref
    return None


def drift_values(
    store: Store,
    spec: ServiceSpec,
    metric: str,
    version: int | None,
    arm: str | None,
    start: datetime,
    end: datetime,
) -> tuple[dict[int, tuple[float | None, int]], str | None]:
    """``{version: (statistic, rows compared)}`` of ``metric``'s column in ``[start, end)``,
    and a note when it cannot be computed."""
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
    ref = _reference_ref(store, spec, version)
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
