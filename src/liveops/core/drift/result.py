"""What a drift comparison returns: typed, frozen, and plain JSON both ways.

A :class:`ColumnDrift` keeps everything needed to trust and draw one column's verdict: the
statistic and the threshold it was judged against, the p-value where the method has one (and its
Benjamini-Hochberg adjustment across the report's tested columns), the sample sizes, the missing
counts and the histogram pair. A :class:`DriftReport` holds the columns of one comparison.

>>> col = ColumnDrift(
...     column="age", kind="number", method="wasserstein", statistic=0.25, threshold=0.1,
...     drifted=True, reference_size=1000, current_size=800,
...     histogram=Histogram(reference=(600, 400), current=(200, 600), edges=(0.0, 40.0, 90.0)),
... )
>>> report = DriftReport(columns=(col,), reference_rows=1000, current_rows=800)
>>> [c.column for c in report.drifted]
['age']
>>> report.metric_points()
{'drift.age': 0.25}
>>> DriftReport.from_dict(report.to_dict()) == report
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ALPHA",
    "JS_THRESHOLD",
    "PSI_THRESHOLD",
    "WASSERSTEIN_THRESHOLD",
    "ColumnDrift",
    "DriftReport",
    "Histogram",
    "Kind",
    "Method",
    "NewTerm",
    "Role",
    "TextDrift",
]

# docs/conventions.md, "Statistics defaults".
WASSERSTEIN_THRESHOLD = 0.1
JS_THRESHOLD = 0.1
PSI_THRESHOLD = 0.2
ALPHA = 0.05

Kind = Literal["number", "category", "text"]
Role = Literal["input", "output"]
# Effect sizes (judged against a threshold) and tests (judged by their BH-adjusted p-value).
Method = Literal["wasserstein", "psi", "ks", "jensenshannon", "chi2", "text"]
TESTS: frozenset[str] = frozenset({"ks", "chi2"})


@dataclass(frozen=True)
class Histogram:
    """Counts of the reference and the current sample in the same bins.

    Numbers have ``edges`` (one more than the counts; the outer bins also hold values beyond
    them); categories have ``labels`` (one per count, ``other`` last when grouped).
    """

    reference: tuple[int, ...]
    current: tuple[int, ...]
    edges: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reference": list(self.reference), "current": list(self.current)}
        if self.edges is not None:
            out["edges"] = list(self.edges)
        if self.labels is not None:
            out["labels"] = list(self.labels)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Histogram:
        edges = d.get("edges")
        labels = d.get("labels")
        return cls(
            reference=tuple(int(x) for x in d["reference"]),
            current=tuple(int(x) for x in d["current"]),
            edges=None if edges is None else tuple(float(x) for x in edges),
            labels=None if labels is None else tuple(str(x) for x in labels),
        )


@dataclass(frozen=True)
class NewTerm:
    """A term much more common in the current text than in the reference."""

    term: str
    current_count: int
    reference_count: int
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "current_count": self.current_count,
            "reference_count": self.reference_count,
            "ratio": self.ratio,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NewTerm:
        return cls(
            str(d["term"]), int(d["current_count"]), int(d["reference_count"]), float(d["ratio"])
        )


@dataclass(frozen=True)
class TextDrift:
    """The parts of a text column's drift; the column's verdict is any part that drifted.

    ``oov_expected`` is the out-of-vocabulary rate that sampling alone gives (one half of the
    reference against the other); ``language`` is the drift of the language field, when the
    data has one (liveops does not guess languages from the text).
    """

    length: ColumnDrift
    oov_rate: float
    oov_expected: float
    oov_drifted: bool
    new_terms: tuple[NewTerm, ...] = ()
    language: ColumnDrift | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "length": self.length.to_dict(),
            "oov_rate": self.oov_rate,
            "oov_expected": self.oov_expected,
            "oov_drifted": self.oov_drifted,
            "new_terms": [t.to_dict() for t in self.new_terms],
            "language": None if self.language is None else self.language.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextDrift:
        lang = d.get("language")
        return cls(
            length=ColumnDrift.from_dict(d["length"]),
            oov_rate=float(d["oov_rate"]),
            oov_expected=float(d["oov_expected"]),
            oov_drifted=bool(d["oov_drifted"]),
            new_terms=tuple(NewTerm.from_dict(t) for t in d.get("new_terms", ())),
            language=None if lang is None else ColumnDrift.from_dict(lang),
        )


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: the statistic, what it was judged against, and the evidence.

    ``drifted`` is None when the column could not be judged (no values on one side); ``note``
    then says why, and otherwise says what shaped the verdict (categories grouped, a threshold
    raised to what sampling alone gives).
    """

    column: str
    kind: Kind
    method: Method
    statistic: float
    threshold: float
    drifted: bool | None
    reference_size: int
    current_size: int
    role: Role = "input"
    p_value: float | None = None
    p_adjusted: float | None = None
    reference_missing: int = 0
    current_missing: int = 0
    histogram: Histogram | None = None
    text: TextDrift | None = None
    note: str = ""

    @property
    def is_test(self) -> bool:
        """Whether the verdict comes from a p-value (KS, chi-square) rather than an effect size."""
        return self.method in TESTS

    @property
    def metric(self) -> str:
        """The metric name of the column's statistic in the catalogue (``drift.COLUMN``)."""
        return f"drift.{self.column}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "role": self.role,
            "method": self.method,
            # Not judged: NaN, written as null so the JSON stays standard.
            "statistic": None if math.isnan(self.statistic) else self.statistic,
            "threshold": self.threshold,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "drifted": self.drifted,
            "reference_size": self.reference_size,
            "current_size": self.current_size,
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
            "text": None if self.text is None else self.text.to_dict(),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnDrift:
        hist = d.get("histogram")
        text = d.get("text")
        p = d.get("p_value")
        padj = d.get("p_adjusted")
        drifted = d.get("drifted")
        return cls(
            column=str(d["column"]),
            kind=d["kind"],
            role=d.get("role", "input"),
            method=d["method"],
            statistic=math.nan if d["statistic"] is None else float(d["statistic"]),
            threshold=float(d["threshold"]),
            p_value=None if p is None else float(p),
            p_adjusted=None if padj is None else float(padj),
            drifted=None if drifted is None else bool(drifted),
            reference_size=int(d["reference_size"]),
            current_size=int(d["current_size"]),
            reference_missing=int(d.get("reference_missing", 0)),
            current_missing=int(d.get("current_missing", 0)),
            histogram=None if hist is None else Histogram.from_dict(hist),
            text=None if text is None else TextDrift.from_dict(text),
            note=str(d.get("note", "")),
        )


@dataclass(frozen=True)
class DriftReport:
    """The columns of one comparison of a current sample against a reference."""

    columns: tuple[ColumnDrift, ...]
    reference_rows: int
    current_rows: int
    alpha: float = ALPHA
    notes: tuple[str, ...] = field(default=())

    @property
    def drifted(self) -> tuple[ColumnDrift, ...]:
        """The columns judged to have drifted, largest effect first."""
        return tuple(c for c in self.by_effect() if c.drifted)

    def by_effect(self) -> tuple[ColumnDrift, ...]:
        """Columns sorted by how far past their threshold they are (statistic / threshold)."""

        def key(c: ColumnDrift) -> tuple[int, float]:
            if c.is_test:
                # A test's evidence is its p-value; put the smallest first among tests.
                return (0 if c.drifted else 1, (c.p_adjusted or c.p_value or 1.0) - 1.0)
            ratio = c.statistic / c.threshold if c.threshold > 0 else 0.0
            return (0 if c.drifted else 1, -ratio)

        return tuple(sorted(self.columns, key=key))

    def column(self, name: str) -> ColumnDrift:
        """The result of one column; KeyError when the report has none."""
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)

    def metric_points(self) -> dict[str, float]:
        """Values under the catalogue's names: ``drift.COLUMN`` (the statistic),
        ``drift_pvalue.COLUMN`` (where a test was chosen) and ``oov_rate.COLUMN`` (text)."""
        out: dict[str, float] = {}
        for c in self.columns:
            out[c.metric] = c.statistic
            if c.p_value is not None:
                out[f"drift_pvalue.{c.column}"] = c.p_value
            if c.text is not None:
                out[f"oov_rate.{c.column}"] = c.text.oov_rate
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "alpha": self.alpha,
            "notes": list(self.notes),
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DriftReport:
        return cls(
            columns=tuple(ColumnDrift.from_dict(c) for c in d["columns"]),
            reference_rows=int(d["reference_rows"]),
            current_rows=int(d["current_rows"]),
            alpha=float(d.get("alpha", ALPHA)),
            notes=tuple(str(n) for n in d.get("notes", ())),
        )
