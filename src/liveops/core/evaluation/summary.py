"""The summary of an evaluation run as typed, frozen objects, and its stored JSON form.

:class:`EvalSummary` is what ``run_eval`` stores, ``runs show`` prints, readiness and review
read, and ``--json`` emits (``to_dict``). ``from_dict`` reads the stored JSON back, including
runs stored before the summary was typed (a confusion matrix without ``columns``, keys this
version does not know: those are kept in ``extra`` and written back unchanged).

Scopes are named as in gates: ``overall``, ``slice:NAME`` (a suite slice or a ``slice_by``
value), ``scenario:NAME``. Robustness families are named entries, so a new family is one more
key, not a new field.

>>> s = EvalSummary.from_dict({
...     "service": "svc", "version": "svc@2", "suite_hash": "ab", "dataset": "d@1", "cases": 4,
...     "metrics": {"overall": {"accuracy": {"n": 4, "value": 0.75, "interval": [0.5, 1.0]}}},
...     "confusion": {"labels": ["a", "b"], "matrix": [[2, 0, 0], [1, 1, 0]]},
... })
>>> s.overall["accuracy"].interval, s.confusion.columns
((0.5, 1.0), ('a', 'b', '(error)'))
>>> EvalSummary.from_dict(s.to_dict()) == s
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from liveops.core.evaluation.gates import GateVerdict, Interval, interval_of
from liveops.errors import IntegrityError

__all__ = [
    "ERROR_COLUMN",
    "ClassMetrics",
    "Confusion",
    "ConsistencyResult",
    "EvalSummary",
    "FailureExample",
    "Failures",
    "FamilyResult",
    "MetricResult",
    "MustPassFailure",
    "MustPassResult",
    "PairFailures",
    "ProbeResult",
    "ReliabilityBin",
    "RobustnessResult",
    "ScopeFailures",
]

# The confusion matrix's last column: answers that were model errors. Parenthesised so that it
# cannot be mistaken for a label called "error" (the failure groups use the same name).
ERROR_COLUMN = "(error)"

Json = dict[str, Any]


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _set(out: Json, **values: Any) -> Json:
    """``out`` with the values that are not None (the stored JSON leaves absent ones out)."""
    out.update({k: v for k, v in values.items() if v is not None})
    return out


def _pair(v: Interval | None) -> list[float] | None:
    return None if v is None else [v[0], v[1]]


@dataclass(frozen=True)
class MetricResult:
    """One metric in one scope: value, 95 % interval, and the paired baseline comparison."""

    value: float | None
    n: int = 0
    interval: Interval | None = None
    baseline_value: float | None = None
    diff_interval: Interval | None = None  # candidate - baseline, paired
    mcnemar: Mapping[str, Any] | None = None
    problem: str | None = None  # why the value is missing

    def to_dict(self) -> Json:
        return _set(
            {"n": self.n, "value": self.value},
            interval=_pair(self.interval),
            baseline_value=self.baseline_value,
            diff_interval=_pair(self.diff_interval),
            mcnemar=dict(self.mcnemar) if self.mcnemar is not None else None,
            problem=self.problem,
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricResult:
        return cls(
            value=_opt_float(d.get("value")),
            n=int(d.get("n") or 0),
            interval=interval_of(d.get("interval")),
            baseline_value=_opt_float(d.get("baseline_value")),
            diff_interval=interval_of(d.get("diff_interval")),
            mcnemar=dict(d["mcnemar"]) if d.get("mcnemar") else None,
            problem=d.get("problem"),
        )


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall and F1 of one label, and how many cases expect it."""

    precision: float
    recall: float
    f1: float
    support: float

    def to_dict(self) -> Json:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClassMetrics:
        return cls(*(float(d.get(k) or 0.0) for k in ("precision", "recall", "f1", "support")))


@dataclass(frozen=True)
class Confusion:
    """Rows: expected labels; columns: predicted labels, then :data:`ERROR_COLUMN`."""

    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.labels, ERROR_COLUMN)

    def to_dict(self) -> Json:
        return {
            "labels": list(self.labels),
            "columns": list(self.columns),
            "matrix": [list(r) for r in self.matrix],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Confusion:
        # ``columns`` is derived (runs stored before it existed have none)
        return cls(tuple(d.get("labels") or ()), tuple(tuple(r) for r in d.get("matrix") or ()))


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    accuracy: float
    confidence: float

    def to_dict(self) -> Json:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReliabilityBin:
        return cls(
            float(d["low"]),
            float(d["high"]),
            int(d["count"]),
            float(d["accuracy"]),
            float(d["confidence"]),
        )


@dataclass(frozen=True)
class FailureExample:
    case: str
    text: str
    expected: str
    predicted: str | None  # None: the model raised
    confidence: float | None = None

    def to_dict(self) -> Json:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FailureExample:
        return cls(
            str(d.get("case", "")),
            str(d.get("text", "")),
            str(d.get("expected", "")),
            d.get("predicted"),
            _opt_float(d.get("confidence")),
        )


def _examples(items: Any) -> tuple[FailureExample, ...]:
    return tuple(FailureExample.from_dict(e) for e in items or ())


@dataclass(frozen=True)
class PairFailures:
    """Failures with one (expected, predicted) pair; ``predicted`` is ERROR_COLUMN for errors."""

    expected: str
    predicted: str
    count: int
    examples: tuple[FailureExample, ...] = ()

    def to_dict(self) -> Json:
        return {
            "expected": self.expected,
            "predicted": self.predicted,
            "count": self.count,
            "examples": [e.to_dict() for e in self.examples],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PairFailures:
        return cls(
            str(d["expected"]), str(d["predicted"]), int(d["count"]), _examples(d.get("examples"))
        )


@dataclass(frozen=True)
class ScopeFailures:
    """Failures in one slice or scenario: ``count`` of its ``cases`` failed."""

    name: str
    cases: int
    count: int
    rate: float | None
    examples: tuple[FailureExample, ...] = ()

    def to_dict(self) -> Json:
        return {
            "name": self.name,
            "cases": self.cases,
            "count": self.count,
            "rate": self.rate,
            "examples": [e.to_dict() for e in self.examples],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScopeFailures:
        return cls(
            str(d["name"]),
            int(d["cases"]),
            int(d["count"]),
            _opt_float(d.get("rate")),
            _examples(d.get("examples")),
        )


@dataclass(frozen=True)
class Failures:
    by_pair: tuple[PairFailures, ...] = ()
    slice: tuple[ScopeFailures, ...] = ()
    scenario: tuple[ScopeFailures, ...] = ()

    def to_dict(self) -> Json:
        return {
            "by_pair": [g.to_dict() for g in self.by_pair],
            "slice": [g.to_dict() for g in self.slice],
            "scenario": [g.to_dict() for g in self.scenario],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Failures:
        return cls(
            tuple(PairFailures.from_dict(g) for g in d.get("by_pair") or ()),
            tuple(ScopeFailures.from_dict(g) for g in d.get("slice") or ()),
            tuple(ScopeFailures.from_dict(g) for g in d.get("scenario") or ()),
        )


@dataclass(frozen=True)
class FamilyResult:
    """One perturbation family: invariance, accuracy on the copies, copies predicted.
    ``extra`` keeps what a family reports beyond these (written back unchanged)."""

    invariance: float
    accuracy: float
    predicted: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Json:
        known = {"invariance": self.invariance, "accuracy": self.accuracy}
        return {**known, "predicted": self.predicted, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FamilyResult:
        rest = {k: v for k, v in d.items() if k not in ("invariance", "accuracy", "predicted")}
        return cls(float(d["invariance"]), float(d["accuracy"]), int(d.get("predicted") or 0), rest)


@dataclass(frozen=True)
class RobustnessResult:
    """Robustness per family; ``invariance``/``accuracy`` are None when no family applies."""

    seed: int
    invariance: float | None
    accuracy: float | None
    families: Mapping[str, FamilyResult]
    not_applicable: Mapping[str, str] = field(default_factory=dict)  # family: why
    predictions: int = 0

    def to_dict(self) -> Json:
        return {
            "seed": self.seed,
            "invariance": self.invariance,
            "accuracy": self.accuracy,
            "families": {k: v.to_dict() for k, v in self.families.items()},
            "not_applicable": dict(self.not_applicable),
            "predictions": self.predictions,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RobustnessResult:
        families = {str(k): FamilyResult.from_dict(v) for k, v in (d.get("families") or {}).items()}
        return cls(
            seed=int(d.get("seed") or 0),
            invariance=_opt_float(d.get("invariance")),
            accuracy=_opt_float(d.get("accuracy")),
            families=families,
            not_applicable={str(k): str(v) for k, v in (d.get("not_applicable") or {}).items()},
            predictions=int(d.get("predictions") or sum(f.predicted for f in families.values())),
        )


@dataclass(frozen=True)
class ProbeResult:
    name: str
    holds: bool
    expected: str  # the label, or "decision in a|b"
    label: str | None
    decision: str | None
    error: str | None = None

    def to_dict(self) -> Json:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProbeResult:
        return cls(
            str(d["name"]),
            bool(d["holds"]),
            str(d.get("expected", "")),
            d.get("label"),
            d.get("decision"),
            d.get("error"),
        )


@dataclass(frozen=True)
class MustPassFailure:
    case: str
    text: str
    expected: str
    expected_decision: str
    predicted: str | None
    decision: str | None
    confidence: float | None = None
    error: str | None = None

    def to_dict(self) -> Json:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MustPassFailure:
        return cls(
            str(d["case"]),
            str(d.get("text", "")),
            str(d["expected"]),
            str(d.get("expected_decision") or "automatic"),
            d.get("predicted"),
            d.get("decision"),
            _opt_float(d.get("confidence")),
            d.get("error"),
        )


@dataclass(frozen=True)
class MustPassResult:
    dataset: str
    cases: int
    held: int
    failed: tuple[MustPassFailure, ...] = ()

    def to_dict(self) -> Json:
        return {
            "dataset": self.dataset,
            "cases": self.cases,
            "held": self.held,
            "failed": [f.to_dict() for f in self.failed],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MustPassResult:
        failed = tuple(MustPassFailure.from_dict(f) for f in d.get("failed") or ())
        return cls(str(d["dataset"]), int(d["cases"]), int(d["held"]), failed)


@dataclass(frozen=True)
class ConsistencyResult:
    cases: int
    repeats: int
    agreement: float

    def to_dict(self) -> Json:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConsistencyResult:
        return cls(int(d["cases"]), int(d["repeats"]), float(d["agreement"]))


_KNOWN = frozenset(
    [
        "service",
        "version",
        "baseline",
        "baseline_reason",
        "suite",
        "suite_hash",
        "dataset",
        "cases",
        "errors",
        "exit_code",
        "gates",
        "metrics",
        "builtins",
        "per_class",
        "confusion",
        "reliability",
        "failures",
        "must_pass",
        "probes",
        "robustness",
        "consistency",
        "latency_ms",
    ]
)


@dataclass(frozen=True)
class EvalSummary:
    """Everything one evaluation run found, as stored with the run.

    ``gates`` are the stored verdicts with the raw values behind them; ``exit_code`` is what
    :func:`liveops.core.exits.exit_code` made of them when the run was judged.
    """

    service: str
    version: str
    suite_hash: str
    dataset: str
    cases: int
    errors: int = 0
    exit_code: int = 0
    baseline: str | None = None
    baseline_reason: str | None = None
    suite: str | None = None
    gates: tuple[GateVerdict, ...] = ()
    metrics: Mapping[str, Mapping[str, MetricResult]] = field(default_factory=dict)  # scope
    builtins: Mapping[str, MetricResult] = field(default_factory=dict)
    per_class: Mapping[str, ClassMetrics] = field(default_factory=dict)
    confusion: Confusion = Confusion((), ())
    reliability: tuple[ReliabilityBin, ...] = ()
    failures: Failures = Failures()
    must_pass: MustPassResult | None = None
    probes: tuple[ProbeResult, ...] | None = None
    robustness: RobustnessResult | None = None
    consistency: ConsistencyResult | None = None
    latency_ms: tuple[float, ...] | None = None
    extra: Mapping[str, Any] = field(
        default_factory=dict
    )  # text_field, reference, slice_by; keys a newer liveops wrote

    @property
    def text_field(self) -> str | None:
        """The cases' free-text field (None for a tabular suite); "text" for runs stored
        before the field could be left out."""
        value = self.extra.get("text_field", "text")
        return None if value is None else str(value)

    @property
    def reference(self) -> Mapping[str, Any] | None:
        """Where ``slice_by`` bins and tabular perturbations took their reference from."""
        value = self.extra.get("reference")
        return value if isinstance(value, Mapping) else None

    @property
    def slice_by(self) -> Mapping[str, Any] | None:
        """The slice definitions ``slice_by`` made (stored, so later runs reuse them)."""
        value = self.extra.get("slice_by")
        return value if isinstance(value, Mapping) else None

    @property
    def overall(self) -> Mapping[str, MetricResult]:
        return self.metrics.get("overall", {})

    def scopes(self, kind: str) -> dict[str, Mapping[str, MetricResult]]:
        """The metrics per ``slice`` or ``scenario``, by name."""
        prefix = kind + ":"
        return {k[len(prefix) :]: v for k, v in self.metrics.items() if k.startswith(prefix)}

    def to_dict(self) -> Json:
        out: Json = {
            "service": self.service,
            "version": self.version,
            "baseline": self.baseline,
            "baseline_reason": self.baseline_reason,
            "suite": self.suite,
            "suite_hash": self.suite_hash,
            "dataset": self.dataset,
            "cases": self.cases,
            "errors": self.errors,
            "exit_code": self.exit_code,
            "gates": [g.to_dict() for g in self.gates],
            "metrics": {
                scope: {k: m.to_dict() for k, m in row.items()}
                for scope, row in self.metrics.items()
            },
            "builtins": {k: m.to_dict() for k, m in self.builtins.items()},
            "per_class": {k: c.to_dict() for k, c in self.per_class.items()},
            "confusion": self.confusion.to_dict(),
            "reliability": [b.to_dict() for b in self.reliability],
            "failures": self.failures.to_dict(),
        }
        return _set(
            out,
            must_pass=self.must_pass.to_dict() if self.must_pass else None,
            probes=[p.to_dict() for p in self.probes] if self.probes is not None else None,
            robustness=self.robustness.to_dict() if self.robustness else None,
            consistency=self.consistency.to_dict() if self.consistency else None,
            latency_ms=list(self.latency_ms) if self.latency_ms is not None else None,
        ) | {k: v for k, v in self.extra.items() if k not in _KNOWN}  # a null there is data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EvalSummary:
        """Read a stored summary; a malformed one is an integrity error naming what is wrong."""
        try:
            return cls._read(d)
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(
                f"the stored evaluation summary of {d.get('version', '?')} cannot be read "
                f"({type(exc).__name__}: {exc})",
                hint="the run was stored by another liveops or edited; evaluate again",
            ) from None

    @classmethod
    def _read(cls, d: Mapping[str, Any]) -> EvalSummary:
        def opt(key: str, reader: Any) -> Any:
            value = d.get(key)
            return None if value is None or value == {} else reader(value)

        return cls(
            service=str(d["service"]),
            version=str(d["version"]),
            suite_hash=str(d.get("suite_hash") or ""),
            dataset=str(d.get("dataset") or ""),
            cases=int(d.get("cases") or 0),
            errors=int(d.get("errors") or 0),
            exit_code=int(d.get("exit_code") or 0),
            baseline=d.get("baseline"),
            baseline_reason=d.get("baseline_reason"),
            suite=d.get("suite"),
            gates=tuple(GateVerdict.from_dict(g) for g in d.get("gates") or ()),
            metrics={
                str(scope): {str(k): MetricResult.from_dict(m) for k, m in row.items()}
                for scope, row in (d.get("metrics") or {}).items()
            },
            builtins={
                str(k): MetricResult.from_dict(m) for k, m in (d.get("builtins") or {}).items()
            },
            per_class={
                str(k): ClassMetrics.from_dict(c) for k, c in (d.get("per_class") or {}).items()
            },
            confusion=Confusion.from_dict(d.get("confusion") or {}),
            reliability=tuple(ReliabilityBin.from_dict(b) for b in d.get("reliability") or ()),
            failures=Failures.from_dict(d.get("failures") or {}),
            must_pass=opt("must_pass", MustPassResult.from_dict),
            probes=opt("probes", lambda ps: tuple(ProbeResult.from_dict(p) for p in ps)),
            robustness=opt("robustness", RobustnessResult.from_dict),
            consistency=opt("consistency", ConsistencyResult.from_dict),
            latency_ms=opt("latency_ms", lambda xs: tuple(float(x) for x in xs)),
            extra={k: v for k, v in d.items() if k not in _KNOWN},
        )
