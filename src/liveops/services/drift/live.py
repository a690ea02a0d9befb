"""Drift on live traffic: the service's reference, read once and kept, and a check of logged
(redacted) inputs against it with the same :func:`~liveops.core.drift.check.check_drift` as
``liveops drift REF CUR`` on files.

The reference is the service's ``reference:`` dataset, else the training dataset of the
version (the newest version that names one). Its kept reference sample (the capped uniform
sample a dataset stores for drift) is read with pyarrow once per :class:`References` (one per
monitor pass; the serving process's monitor keeps one across passes): the windows, versions
and slices of a pass compare against the same arrays.

Logged inputs are JSON: each compared column is typed as the reference column is (numbers as
float64, short strings and booleans as category counts, long strings as text), and a value of
another type makes the column's type differ, which the data-quality check reports.

>>> import numpy as np
>>> ref = Table("ref", 4, {"x": Column("number", "double", np.arange(4.0), 0, "number")})
>>> cur = current_table("live", [{"x": 1}, {"x": None}, {}], ref, ["x"])
>>> cur.rows, cur.columns["x"].missing, cur.columns["x"].family
(3, 2, 'number')
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liveops.core.drift.check import DriftCheck, check_drift
from liveops.core.drift.quality import Column, Table
from liveops.core.drift.report import CategoryCounts
from liveops.core.drift.text import Vocabulary, vocabulary
from liveops.core.project import ServiceSpec
from liveops.errors import DatasetNotFound, UsageError
from liveops.services.datasets import resolve_dataset
from liveops.services.drift.tables import parquet_table
from liveops.store import Store

__all__ = [
    "LivePoint",
    "Reference",
    "References",
    "current_table",
    "live_check",
    "live_points",
    "reference_ref",
]


def reference_ref(store: Store, spec: ServiceSpec, version: int | None) -> str | None:
    """The dataset a service's live inputs are compared with: ``reference:``, else the training
    set of ``version`` (None or 0: of the newest version naming one)."""
    if spec.reference:
        return spec.reference
    versions = store.registry.list_versions(spec.name)
    pick = [v for v in versions if not version or v.number == version]
    for v in reversed(pick):
        ref = ((v.lineage.get("datasets") or {}).get("train") or {}).get("ref")
        if isinstance(ref, str):
            return ref
    return None


@dataclass(frozen=True)
class Reference:
    """A reference as the checks read it: ``ref`` (``NAME@N``), its table, the service's
    input columns it holds, and its text columns' vocabularies (tokenised once)."""

    ref: str
    table: Table
    columns: tuple[str, ...]
    vocabularies: Mapping[str, Vocabulary] = field(default_factory=dict)


class References:
    """The references of services' versions, each dataset's sample read once (keyed by its
    content hash, so a store opened again finds what it read)."""

    def __init__(self) -> None:
        self._tables: dict[str, tuple[Table, dict[str, Vocabulary]]] = {}

    def get(self, store: Store, spec: ServiceSpec, version: int | None) -> Reference:
        """The reference of ``spec``'s ``version``; a :class:`DatasetNotFound` saying what to
        set when there is none."""
        name = reference_ref(store, spec, version)
        if name is None:
            raise DatasetNotFound(
                f"service {spec.name!r} has no reference to compare its traffic with",
                hint="set reference: DATASET in its liveops.yaml entry (or register a version "
                "with a training dataset)",
            )
        record = resolve_dataset(store, name)
        digest = record.reference_artifact or record.data_artifact
        kept = self._tables.get(digest)
        if kept is None:
            data = store.artifacts.read_bytes(digest)
            table = parquet_table(io.BytesIO(data), f"reference {record.ref}", None)
            texts = {n: vocabulary(c.values) for n, c in table.columns.items() if c.kind == "text"}
            kept = self._tables[digest] = (table, texts)
        table, texts = kept
        columns = tuple(c for c in spec.inputs if c in table.columns)
        if not columns:
            raise DatasetNotFound(
                f"the reference {record.ref} has none of {spec.name!r}'s inputs "
                f"({', '.join(spec.inputs)})",
                hint="point reference: at a dataset with the service's input columns",
            )
        return Reference(record.ref, table, columns, texts)


def _family(values: Sequence[Any]) -> str:
    kinds = {
        "boolean" if isinstance(v, bool) else "number" if isinstance(v, int | float) else
        "string" if isinstance(v, str) else "other"
        for v in values
    }  # fmt: skip
    if not kinds:
        return "empty"
    return kinds.pop() if len(kinds) == 1 else "other"


def _current_column(values: list[Any], ref: Column) -> Column:
    present = [v for v in values if v is not None]
    family = _family(present)
    missing = len(values) - len(present)
    if family == "number":
        arr = np.asarray([math.nan if v is None else float(v) for v in values], dtype=np.float64)
        missing = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        return Column("number", "json number", arr, missing, "number")
    if family == "boolean":
        counts = CategoryCounts(_count(str(v).lower() for v in present), missing=missing)
        return Column("boolean", "json boolean", counts, missing, "category")
    if family == "string":
        if ref.kind == "text":
            return Column("string", "json string", list(values), missing, "text")
        counts = CategoryCounts(_count(present), missing=missing)
        return Column("string", "json string", counts, missing, "category")
    if family == "empty":
        return Column("empty", "json null", None, len(values), None)
    return Column("other", "json mixed", None, missing, None)


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def current_table(
    source: str, inputs: Sequence[Mapping[str, Any]], reference: Table, columns: Sequence[str]
) -> Table:
    """The logged ``inputs`` as the current side of a check, ``columns`` typed as
    ``reference`` types them (a key absent from a row is a missing value)."""
    out = {
        name: _current_column([row.get(name) for row in inputs], reference.columns[name])
        for name in columns
    }
    return Table(source=source, rows=len(inputs), columns=out)


def live_check(
    reference: Reference,
    inputs: Sequence[Mapping[str, Any]],
    source: str,
    *,
    columns: Sequence[str] | None = None,
    tests: bool = False,
) -> DriftCheck:
    """Data quality and drift of the logged ``inputs`` against ``reference``, on the
    service's input columns (or ``columns``): the same check and thresholds as files."""
    names = list(columns) if columns else list(reference.columns)
    unknown = [c for c in names if c not in reference.columns]
    if unknown:
        raise UsageError(
            f"no input column {', '.join(map(repr, unknown))} in the reference",
            hint=f"compared columns: {', '.join(reference.columns)}",
        )
    current = current_table(source, inputs, reference.table, names)
    return check_drift(
        reference.table, current, columns=names, tests=tests, vocabularies=reference.vocabularies
    )


@dataclass(frozen=True)
class LivePoint:
    """One stored value: the metric, its value (None: not judged), threshold and verdict."""

    metric: str
    value: float | None = None
    threshold: float | None = None
    drifted: bool | None = None


def live_points(check: DriftCheck | None, columns: Sequence[str], rows: int) -> list[LivePoint]:
    """The points a check gives, under the catalogue's names: ``drift.COLUMN`` (the
    statistic, its threshold and verdict), ``drift_pvalue.COLUMN`` (a test's p-value),
    ``oov_rate.COLUMN`` (text) and ``missing.COLUMN`` (the share of rows without a value).
    Without a check (too few rows), ``drift.COLUMN`` without a value for every column.

    >>> [p.metric for p in live_points(None, ["x"], 3)]
    ['drift.x']
    """
    if check is None:
        return [LivePoint(f"drift.{c}") for c in columns]
    out: list[LivePoint] = []
    judged = {c.column: c for c in check.drift.columns}
    for name in columns:
        c = judged.get(name)
        if c is None:  # all missing or its type changed: a quality finding, no statistic
            out.append(LivePoint(f"drift.{name}"))
        else:
            stat = None if math.isnan(c.statistic) else float(c.statistic)
            out.append(LivePoint(c.metric, stat, c.threshold, c.drifted))
            if c.p_value is not None:
                out.append(LivePoint(f"drift_pvalue.{name}", c.p_adjusted or c.p_value))
            if c.text is not None:
                out.append(LivePoint(f"oov_rate.{name}", c.text.oov_rate))
        col = check.current.columns.get(name)
        if col is not None and rows:
            out.append(LivePoint(f"missing.{name}", col.missing / rows))
    return out
