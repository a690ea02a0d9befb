"""A drift check of a current table against its reference: data quality first, then drift.

The check fails (``verdict`` ``fail``, exit code 1 for a CI pipeline) when any column drifted
or any data-quality finding is a pipeline problem. Columns that cannot be compared (missing in
the current data, a changed type, all missing) are data-quality findings and left out of the
drift statistics; the rest are compared on their present values.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> def table(x):
...     return Table("t", x.size, {"x": Column("number", "double", x, 0, "number")})
>>> check = check_drift(table(rng.normal(0, 1, 500)), table(rng.normal(1, 1, 500)))
>>> check.verdict, [(f.check, f.label) for f in check.findings]
('fail', [('drift', 'world'), ('out_of_range', 'world')])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from liveops.core.drift.quality import Column, Finding, Table, drift_findings, quality_findings
from liveops.core.drift.report import drift_report
from liveops.core.drift.result import DriftReport, Kind
from liveops.core.drift.text import Vocabulary
from liveops.core.exits import exit_code
from liveops.errors import InvalidInputError, UsageError

__all__ = ["MIN_ROWS", "Column", "DriftCheck", "Table", "check_drift"]

MIN_ROWS = 2  # one row has no distribution to compare
_ORDER = {"pipeline": 0, "world": 1, "note": 2}


@dataclass(frozen=True)
class DriftCheck:
    """The findings (pipeline problems first) and the drift report of one comparison."""

    reference: Table
    current: Table
    findings: tuple[Finding, ...]
    drift: DriftReport

    @property
    def pipeline_problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.label == "pipeline")

    @property
    def verdict(self) -> str:
        """``fail`` when a column drifted or a pipeline problem was found, else ``pass``."""
        return "fail" if self.pipeline_problems or self.drift.drifted else "pass"

    def to_dict(self) -> dict[str, Any]:
        drift = self.drift.to_dict()
        drift["columns"] = [c.to_dict() for c in self.drift.by_effect()]
        return {
            "verdict": self.verdict,
            "exit_code": exit_code([self.verdict]),
            "reference": _side(self.reference),
            "current": _side(self.current),
            "pipeline_problems": len(self.pipeline_problems),
            "drifted_columns": [c.column for c in self.drift.drifted],
            "quality": [f.to_dict() for f in self.findings],
            "drift": drift,
        }


def _side(t: Table) -> dict[str, Any]:
    return {
        "source": t.source,
        "rows": t.rows,
        "columns": {name: c.storage for name, c in t.columns.items()},
    }


def check_drift(
    reference: Table,
    current: Table,
    *,
    columns: Sequence[str] | None = None,
    tests: bool = False,
    seed: int = 0,
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> DriftCheck:
    """Compare ``columns`` (default: every reference column) of ``current`` with ``reference``.

    ``tests`` judges by p-value tests (KS, chi-square; Benjamini-Hochberg across columns)
    instead of effect sizes. A table under :data:`MIN_ROWS` rows, or a current table with no
    column in common with the reference, is an :class:`InvalidInputError`; ``columns`` naming
    a column the reference lacks is a :class:`UsageError`. ``vocabularies``: the reference's
    text columns' vocabularies, when computed already (the monitor's drift pass).
    """
    for side, t in (("reference", reference), ("current", current)):
        if t.rows < MIN_ROWS:
            raise InvalidInputError(
                f"the {side} data ({t.source}) has {t.rows} row{'s' if t.rows != 1 else ''}: "
                f"drift needs at least {MIN_ROWS} rows on each side",
                hint="compare files with more rows",
            )
    names = list(columns) if columns else list(reference.columns)
    unknown = [c for c in names if c not in reference.columns]
    if unknown:
        raise UsageError(
            f"the reference has no column {', '.join(map(repr, unknown))}",
            hint=f"reference columns: {', '.join(reference.columns)}",
        )
    if not any(c in current.columns for c in names):
        raise InvalidInputError(
            f"the current data ({current.source}) has none of the compared columns "
            f"({', '.join(names)}); it has: {', '.join(current.columns) or 'no columns'}",
            hint="check that the two files hold the same kind of data",
        )
    ref_values: dict[str, Any] = {}
    cur_values: dict[str, Any] = {}
    kinds: dict[str, Kind] = {}
    for name in names:
        ref, cur = reference.columns[name], current.columns.get(name)
        if cur is None or ref.kind is None or cur.family != ref.family:
            continue  # a data-quality finding says why
        if cur.missing == current.rows:
            continue
        ref_values[name], cur_values[name], kinds[name] = ref.values, cur.values, ref.kind
    drift = drift_report(
        ref_values, cur_values, kinds=kinds, tests=tests, seed=seed, vocabularies=vocabularies
    )
    drift = DriftReport(
        columns=drift.columns,
        reference_rows=reference.rows,
        current_rows=current.rows,
        alpha=drift.alpha,
        notes=drift.notes,
    )
    # Extra columns are worth a note only when every column was asked for.
    findings = drift_findings(drift)
    findings += quality_findings(reference, current, names, drift, extras=not columns)
    order = {name: i for i, name in enumerate(names)}
    findings.sort(key=lambda f: (_ORDER[f.label], order.get(f.column, len(order))))
    return DriftCheck(reference, current, tuple(findings), drift)
