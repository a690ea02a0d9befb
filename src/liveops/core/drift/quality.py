"""Data quality of a current table against its reference, reported apart from drift.

Each finding is labelled by what most likely caused it, because the fix differs:

- ``pipeline``: the data arrives broken, whatever the world does. A reference column the current
  data lacks, a column whose type changed, a column that holds one value where the reference
  varied (and one value is too unlikely by chance), a column arriving all missing, a missing
  share that more than doubles *and* rises by over 5 points.
- ``world``: the values' distribution moved (the column's drift verdict), with the evidence
  that explains it: values outside the reference's range, categories the reference never had.
- ``note``: worth knowing, neither of the above: extra columns, a missing share that rose less
  than the rule, a few values out of range on a column that did not drift.

A column can have several findings, e.g. a missing-share jump (pipeline) and a drift of the
values still present (world). Drift is computed on the present values only, so a column that
arrives half empty is a pipeline problem, not a drift.

>>> import numpy as np
>>> ref = Table("ref.csv", 20, {"x": Column("number", "double", np.arange(20.0), 0, "number")})
>>> cur = Table("cur.csv", 20, {"x": Column("number", "double", np.full(20, 2.0), 0, "number")})
>>> [(f.column, f.check, f.label) for f in quality_findings(ref, cur, ["x"])]
[('x', 'constant', 'pipeline')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from liveops.core.drift.report import CategoryCounts
from liveops.core.drift.result import ColumnDrift, DriftReport

__all__ = [
    "CONSTANT_CHANCE",
    "MISSING_POINTS",
    "MISSING_RATIO",
    "RARE_SHARE",
    "AnalysisKind",
    "Column",
    "Family",
    "Finding",
    "Label",
    "Table",
    "drift_findings",
    "quality_findings",
]

Family = Literal["number", "boolean", "string", "empty", "other"]
Label = Literal["pipeline", "world", "note"]
AnalysisKind = Literal["number", "category", "text"]

MISSING_RATIO = 2.0  # the missing share more than doubles ...
MISSING_POINTS = 0.05  # ... and rises by over 5 points: a pipeline problem
CONSTANT_CHANCE = 0.001  # one value on every row is a pipeline problem when chance gives less
RARE_SHARE = 0.001  # out-of-range values or unseen categories under 0.1 % are only a note
EXAMPLES = 5


@dataclass(frozen=True)
class Column:
    """One side of one column as read: its type family, the storage type's name, its values
    and how many are missing.

    ``values`` is a float64 array (NaN missing) for numbers, :class:`CategoryCounts` for
    categories and booleans, a sequence of str or None for text, None for an empty column.
    ``kind`` is how drift compares it (None: not compared).
    """

    family: Family
    storage: str
    values: Any
    missing: int
    kind: AnalysisKind | None = None


@dataclass(frozen=True)
class Table:
    """One side of a comparison: where it came from, its rows, its columns in order."""

    source: str
    rows: int
    columns: Mapping[str, Column] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One data-quality fact about a column, labelled ``pipeline``, ``world`` or ``note``."""

    column: str
    check: str
    label: Label
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "label": self.label,
            "message": self.message,
            "details": dict(self.details),
        }


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %" if x >= 0.001 or x == 0 else f"{100 * x:.2g} %"


def quality_findings(
    reference: Table,
    current: Table,
    columns: Sequence[str],
    drift: DriftReport | None = None,
    *,
    extras: bool = True,
) -> list[Finding]:
    """The findings of ``columns`` (reference columns), then the current's extra columns.

    ``drift`` (the drift report of the compared columns) decides whether out-of-range values
    and unseen categories explain a world change or are only a note.
    """
    drifted = {c.column for c in drift.columns if c.drifted} if drift is not None else set()
    out: list[Finding] = []
    for name in columns:
        ref = reference.columns[name]
        cur = current.columns.get(name)
        if cur is None:
            out.append(
                Finding(
                    name,
                    "missing_column",
                    "pipeline",
                    f"the current data has no column {name!r}",
                    {"current_columns": len(current.columns)},
                )
            )
            continue
        out.extend(_column(name, ref, cur, reference.rows, current.rows, name in drifted))
    extra = [c for c in current.columns if c not in reference.columns]
    if extra and extras:
        out.append(
            Finding(
                ", ".join(extra),
                "extra_columns",
                "note",
                f"only in the current data, not compared: {', '.join(extra)}",
                {"columns": extra},
            )
        )
    return out


def _column(
    name: str, ref: Column, cur: Column, ref_rows: int, cur_rows: int, drifted: bool
) -> list[Finding]:
    if ref.family in ("empty", "other"):
        why = "has no values" if ref.family == "empty" else f"is of type {ref.storage}"
        return [Finding(name, "not_compared", "note", f"the reference column {why}: not compared")]
    if cur.family == "empty" or (cur_rows and cur.missing == cur_rows):
        return [
            Finding(
                name,
                "all_missing",
                "pipeline",
                f"every value is missing in the current data (reference: "
                f"{_pct(_share(ref.missing, ref_rows))} missing)",
                {"reference_missing_share": _share(ref.missing, ref_rows)},
            )
        ]
    if cur.family != ref.family:
        seen = ""
        if isinstance(cur.values, CategoryCounts) and cur.values.counts:
            top = sorted(cur.values.counts.items(), key=lambda kv: -kv[1])[:3]
            seen = "; most common now: " + ", ".join(repr(k) for k, _ in top)
        return [
            Finding(
                name,
                "type_changed",
                "pipeline",
                f"the type changed from {ref.family} ({ref.storage}) to {cur.family} "
                f"({cur.storage}){seen}: not compared",
                {"reference_type": ref.storage, "current_type": cur.storage},
            )
        ]
    out = _missing(name, ref, cur, ref_rows, cur_rows)
    constant = _constant(name, ref, cur)
    if constant is not None:
        out.append(constant)
    if ref.kind == "number":
        out.extend(_out_of_range(name, ref, cur, drifted))
    elif ref.kind == "category":
        out.extend(_unseen(name, ref, cur, drifted))
    return out


def _missing(name: str, ref: Column, cur: Column, ref_rows: int, cur_rows: int) -> list[Finding]:
    r, c = _share(ref.missing, ref_rows), _share(cur.missing, cur_rows)
    details = {"reference_missing_share": r, "current_missing_share": c}
    if c > MISSING_RATIO * r and c - r > MISSING_POINTS:
        return [
            Finding(
                name,
                "missing_share",
                "pipeline",
                f"missing share jumped from {_pct(r)} to {_pct(c)} (more than doubled and up "
                f"over {MISSING_POINTS * 100:.0f} points); drift uses the values present",
                details,
            )
        ]
    if c - r >= 0.01:
        return [
            Finding(
                name,
                "missing_share",
                "note",
                f"missing share rose from {_pct(r)} to {_pct(c)} (below the pipeline rule)",
                details,
            )
        ]
    return []


def _single_value(col: Column) -> tuple[bool, Any, int]:
    """(holds exactly one distinct present value, that value, how many present values)."""
    v = col.values
    if isinstance(v, CategoryCounts):
        present = [(k, n) for k, n in v.counts.items() if n > 0]
        total = sum(n for _, n in present)
        return len(present) == 1, present[0][0] if len(present) == 1 else None, total
    if isinstance(v, np.ndarray):
        x = v[np.isfinite(v)]
        if x.size == 0:
            return False, None, 0
        lo, hi = float(x.min()), float(x.max())
        return lo == hi, lo, int(x.size)
    texts = [t for t in v if t is not None]
    return len(set(texts)) == 1, texts[0] if texts else None, len(texts)


def _share_of(col: Column, value: Any) -> tuple[float, int]:
    """The share of ``value`` among the present values of ``col``, and how many are present."""
    v = col.values
    if isinstance(v, CategoryCounts):
        total = sum(v.counts.values())
        return _share(v.counts.get(value, 0), total), total
    if isinstance(v, np.ndarray):
        x = v[np.isfinite(v)]
        return _share(int(np.count_nonzero(x == value)), int(x.size)), int(x.size)
    texts = [t for t in v if t is not None]
    return _share(sum(1 for t in texts if t == value), len(texts)), len(texts)


def _constant(name: str, ref: Column, cur: Column) -> Finding | None:
    single, value, n = _single_value(cur)
    if not single or n < 2:
        return None
    p, ref_present = _share_of(ref, value)
    if ref_present == 0 or p == 1.0:
        return None  # the reference held this one value too
    log_chance = n * math.log10(p) if p > 0 else -math.inf
    if log_chance >= math.log10(CONSTANT_CHANCE):
        return None
    shown = f"{value:g}" if isinstance(value, float) else repr(value)
    if p == 0:
        why = "the reference never had it"
    else:
        chance = f"{p**n:.1g}" if log_chance > -300 else f"about 1e{log_chance:.0f}"
        why = (
            f"the reference had it in {_pct(p)} of rows, so one value on every row by "
            f"chance has probability {chance}"
        )
    return Finding(
        name,
        "constant",
        "pipeline",
        f"every present value is {shown} ({n:,} rows); {why}",
        {"value": value, "reference_share": p, "rows": n},
    )


def _out_of_range(name: str, ref: Column, cur: Column, drifted: bool) -> list[Finding]:
    r, c = ref.values, cur.values
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    if r.size == 0 or c.size == 0:
        return []
    lo, hi = float(r.min()), float(r.max())
    below, above = int(np.count_nonzero(c < lo)), int(np.count_nonzero(c > hi))
    share = _share(below + above, int(c.size))
    if below + above == 0 or (share < RARE_SHARE and not drifted):
        return []
    return [
        Finding(
            name,
            "out_of_range",
            "world" if drifted else "note",
            f"{below + above:,} value{'s' if below + above != 1 else ''} ({_pct(share)}) "
            "outside the reference's range "
            f"[{lo:g}, {hi:g}]: {below:,} below, {above:,} above",
            {"below": below, "above": above, "share": share, "reference_range": [lo, hi]},
        )
    ]


def _unseen(name: str, ref: Column, cur: Column, drifted: bool) -> list[Finding]:
    if not isinstance(ref.values, CategoryCounts) or not isinstance(cur.values, CategoryCounts):
        return []
    known = ref.values.counts
    new = [(k, n) for k, n in cur.values.counts.items() if n > 0 and k not in known]
    total = sum(cur.values.counts.values())
    count = sum(n for _, n in new)
    share = _share(count, total)
    if not new or (share < RARE_SHARE and not drifted):
        return []
    new.sort(key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{k!r} ({n:,})" for k, n in new[:EXAMPLES])
    more = f" and {len(new) - EXAMPLES:,} more" if len(new) > EXAMPLES else ""
    if len(known) > 0.5 * sum(known.values()):
        more += " (the reference's values are mostly distinct: an identifier?)"
    return [
        Finding(
            name,
            "unseen_categories",
            "world" if drifted else "note",
            f"{len(new):,} value{'s' if len(new) != 1 else ''} the reference never had, "
            f"{_pct(share)} of rows: {shown}{more}",
            {"values": len(new), "rows": count, "share": share, "examples": dict(new[:EXAMPLES])},
        )
    ]


def drift_findings(drift: DriftReport) -> list[Finding]:
    """A ``world`` finding per drifted column, saying what moved and by how much."""
    out = []
    for c in drift.by_effect():
        if not c.drifted:
            continue
        out.append(Finding(c.column, "drift", "world", _why(c), {"method": c.method}))
    return out


def _why(c: ColumnDrift) -> str:
    if c.is_test:
        p = c.p_adjusted if c.p_adjusted is not None else c.p_value
        judged = f"{c.method} p = {p:.2g} < {c.threshold:g}" + (
            " (adjusted across columns)" if c.p_adjusted is not None else ""
        )
    else:
        name = "length's wasserstein" if c.kind == "text" else c.method
        judged = f"{name} {c.statistic:.3f} ≥ {c.threshold:.3f}"
    text = ""
    if c.text is not None:
        parts = [c.note] if c.note else []
        if c.text.new_terms:
            terms = ", ".join(t.term for t in c.text.new_terms[:EXAMPLES])
            parts.append(f"new frequent terms: {terms}")
        text = "; " + "; ".join(parts) if parts else ""
    return f"the values' distribution moved: {judged}{text}"
