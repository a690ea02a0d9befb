"""A drift report over many columns: one verdict per column, p-values adjusted across columns.

Columns are given as a mapping of name to values, on both sides. A column's kind is taken from
``kinds`` or read from its values: a numeric array is a number, :class:`CategoryCounts` (value
counts, e.g. from a columnar reader) a category, anything else is judged by
:func:`liveops.core.profile.infer_kind` on its first values. Effect sizes decide by default
(normalised Wasserstein for numbers, Jensen-Shannon for categories); ``tests=True`` (or a
``ks``/``chi2`` entry in ``methods``) uses p-value tests instead, and their p-values are then
adjusted with Benjamini-Hochberg across the tested columns before they are compared with
``alpha``.

>>> rng = np.random.default_rng(1)
>>> ref = {"age": rng.normal(40, 10, 4000), "plan": ["a"] * 3000 + ["b"] * 1000}
>>> cur = {"age": rng.normal(45, 10, 4000), "plan": ["a"] * 2990 + ["b"] * 1010}
>>> report = drift_report(ref, cur)
>>> [(c.column, c.method, c.drifted) for c in report.columns]
[('age', 'wasserstein', True), ('plan', 'jensenshannon', False)]
>>> tested = drift_report(ref, cur, tests=True)
>>> [(c.method, c.p_adjusted is not None) for c in tested.columns]
[('ks', True), ('chi2', True)]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from liveops.core.drift.categorical import TOP_K, categorical_drift, count_values
from liveops.core.drift.numeric import numeric_drift
from liveops.core.drift.result import ALPHA, ColumnDrift, DriftReport, Kind, Method, Role
from liveops.core.drift.text import Vocabulary, text_drift
from liveops.core.profile import infer_kind
from liveops.errors import InvalidInputError, UsageError

__all__ = ["CategoryCounts", "adjust_bh", "drift_report", "prediction_drift"]

_SNIFF = 10_000  # values read to infer a column's kind
_PARALLEL_ROWS = 200_000  # below this, starting threads costs more than it saves


@dataclass(frozen=True)
class CategoryCounts:
    """A categorical column given by its value counts (and how many values were missing)."""

    counts: Mapping[str, int]
    missing: int = 0

    @property
    def size(self) -> int:
        return sum(self.counts.values()) + self.missing


def _kind_of(values: Any) -> Kind | None:
    if isinstance(values, CategoryCounts):
        return "category"
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return "number"
    sample = list(values[:_SNIFF]) if isinstance(values, Sequence | np.ndarray) else []
    kind = infer_kind(sample)
    if kind == "boolean":
        return "category"
    if kind in ("number", "category", "text"):
        return kind
    return None


def _rows(values: Any) -> int:
    return values.size if isinstance(values, CategoryCounts) else len(values)


def _counts(values: Any) -> tuple[dict[str, int], int]:
    if isinstance(values, CategoryCounts):
        return dict(values.counts), values.missing
    return count_values(values)


def _numbers(column: str, values: Any) -> Any:
    if isinstance(values, CategoryCounts):
        raise InvalidInputError(
            f"column {column!r} is given as value counts but compared as numbers",
            hint="pass its values, or compare it as a category",
        )
    try:
        return np.asarray(
            [np.nan if v is None else v for v in values]
            if not isinstance(values, np.ndarray)
            else values,
            dtype=np.float64,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"column {column!r} holds values that are not numbers ({exc})",
            hint="its type changed from the reference's; compare it as a category or fix it",
        ) from exc


def adjust_bh(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (scipy's ``false_discovery_control``).

    >>> [round(p, 3) for p in adjust_bh([0.01, 0.04, 0.03, 0.2])]
    [0.04, 0.053, 0.053, 0.2]
    """
    if not p_values:
        return []
    return [float(p) for p in stats.false_discovery_control(np.asarray(p_values), method="bh")]


def _one(
    column: str,
    kind: Kind,
    ref: Any,
    cur: Any,
    method: Method | None,
    role: Role,
    top_k: int,
    seed: int,
    languages: tuple[Any, Any] | None,
    vocab: Vocabulary | None = None,
) -> ColumnDrift:
    if kind == "number":
        return numeric_drift(
            column, _numbers(column, ref), _numbers(column, cur), method=method or "wasserstein",
            role=role,
        )  # fmt: skip
    if kind == "category":
        rc, rm = _counts(ref)
        cc, cm = _counts(cur)
        return categorical_drift(
            column, rc, cc, method=method or "jensenshannon", top_k=top_k, seed=seed,
            reference_missing=rm, current_missing=cm, role=role,
        )  # fmt: skip
    return text_drift(
        column,
        list(ref),
        list(cur),
        reference_languages=None if languages is None else languages[0],
        current_languages=None if languages is None else languages[1],
        role=role,
        reference_vocabulary=vocab,
    )


def drift_report(
    reference: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    methods: Mapping[str, Method] | None = None,
    tests: bool = False,
    roles: Mapping[str, Role] | None = None,
    language_of: Mapping[str, str] | None = None,
    top_k: int = TOP_K,
    alpha: float = ALPHA,
    seed: int = 0,
    workers: int = 0,
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> DriftReport:
    """Compare every reference column (or ``columns``) of ``current`` against ``reference``.

    ``language_of`` maps a text column to the column holding its language (which is then
    compared as part of the text and not again on its own). A reference column the current
    sample lacks is an :class:`InvalidInputError`; columns only the current sample has are
    named in the report's notes. Large inputs are compared ``workers`` columns at a time
    (0: one per core); the result does not depend on it. ``vocabularies``: text columns'
    reference :func:`~liveops.core.drift.text.vocabulary`, computed once by a caller that
    compares one reference many times.
    """
    names = list(columns) if columns is not None else list(reference)
    absent = [c for c in names if c not in current]
    unknown = [c for c in names if c not in reference]
    if unknown:
        raise UsageError(
            f"no reference column named {', '.join(map(repr, unknown))}",
            hint=f"reference columns: {', '.join(reference)}",
        )
    if absent:
        raise InvalidInputError(
            f"the current data has no column {', '.join(map(repr, absent))}",
            hint="a column the reference has is missing: check the pipeline that wrote the "
            "current data, or compare fewer columns",
        )
    language_of = dict(language_of or {})
    paired = set(language_of.values())
    notes = []
    extra = [c for c in current if c not in reference]
    if extra:
        notes.append(f"columns only in the current data, not compared: {', '.join(extra)}")
    jobs = []
    for name in names:
        if name in paired and columns is None:
            continue
        kind = (kinds or {}).get(name) or _kind_of(reference[name])
        if kind is None:
            notes.append(f"column {name!r} is neither number, category nor text: not compared")
            continue
        method = (methods or {}).get(name)
        if method is None and tests and kind != "text":
            method = "ks" if kind == "number" else "chi2"
        lang = language_of.get(name)
        languages = None if lang is None else (reference[lang], current[lang])
        role = (roles or {}).get(name, "input")
        vocab = (vocabularies or {}).get(name)
        jobs.append(
            (name, kind, reference[name], current[name], method, role, top_k, seed, languages,
             vocab)
        )  # fmt: skip
    # numpy's sorts release the GIL: columns in threads use every core on large samples.
    threads = min(workers or os.cpu_count() or 1, len(jobs))
    if threads > 1 and sum(_rows(j[2]) for j in jobs) >= _PARALLEL_ROWS:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda job: _one(*job), jobs))
    else:
        results = [_one(*job) for job in jobs]
    results = _adjust(results, alpha)
    return DriftReport(
        columns=tuple(results),
        reference_rows=max((_rows(v) for v in reference.values()), default=0),
        current_rows=max((_rows(v) for v in current.values()), default=0),
        alpha=alpha,
        notes=tuple(notes),
    )


def _adjust(results: list[ColumnDrift], alpha: float) -> list[ColumnDrift]:
    tested = [i for i, c in enumerate(results) if c.is_test and c.p_value is not None]
    adjusted = adjust_bh([results[i].p_value or 0.0 for i in tested])
    out = list(results)
    for i, p in zip(tested, adjusted, strict=True):
        out[i] = dataclasses.replace(out[i], p_adjusted=p, threshold=alpha, drifted=p < alpha)
    return out


def prediction_drift(
    reference_labels: Sequence[Any],
    current_labels: Sequence[Any],
    reference_confidence: Any = None,
    current_confidence: Any = None,
    *,
    seed: int = 0,
) -> DriftReport:
    """Prediction drift: the label mix (a category) and the confidence (a number) of the answers.

    >>> ref = ["billing"] * 70 + ["refund"] * 30
    >>> report = prediction_drift(ref, ["billing"] * 30 + ["refund"] * 70)
    >>> [(c.column, c.role, c.drifted) for c in report.columns]
    [('label', 'output', True)]
    """
    ref: dict[str, Any] = {"label": list(reference_labels)}
    cur: dict[str, Any] = {"label": list(current_labels)}
    kinds: dict[str, Kind] = {"label": "category"}
    if reference_confidence is not None and current_confidence is not None:
        ref["confidence"] = np.asarray(reference_confidence, dtype=np.float64)
        cur["confidence"] = np.asarray(current_confidence, dtype=np.float64)
        kinds["confidence"] = "number"
    roles: dict[str, Role] = dict.fromkeys(ref, "output")
    return drift_report(ref, cur, kinds=kinds, roles=roles, seed=seed)
