"""Evaluation suites: what "good enough" means for a service, written down before testing.

A suite names its cases (a registered dataset, scenarios, must-pass cases), the metrics, the
slices, the robustness perturbations, the behaviour probes and the gates. Parsing is strict
like the project file: unknown keys, unknown metrics and unknown perturbation families are
errors that name the file, the line and the field.

>>> text = '''
... cases: {dataset: support-eval, expected: label}
... metrics: [accuracy, macro_f1]
... slices: [{name: short, where: {text_length: {lt: 30}}}]
... gates: [{metric: accuracy, min: 0.8, kind: blocker}]
... '''
>>> suite = parse_suite(text, "suite.yaml")
>>> suite.cases.dataset, suite.gates[0].kind, suite.slices[0].where.columns()
('support-eval', 'blocker', ['text_length'])
>>> len(suite.suite_hash())
64

The same as a Python API:

>>> Suite(cases=CasesSpec(dataset="support-eval"), metrics=["accuracy"]).cases.expected
'label'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from liveops.core import catalogue
from liveops.core.evaluation.perturb import FAMILIES
from liveops.core.hashing import content_hash
from liveops.core.names import parse_dataset_ref
from liveops.core.yamltext import parse_yaml
from liveops.errors import UsageError

__all__ = [
    "BUILTIN_GATE_METRICS",
    "SUITE_METRICS",
    "CasesSpec",
    "ConsistencySpec",
    "GateSpec",
    "MustPassSpec",
    "Predicate",
    "ProbeSpec",
    "RobustnessSpec",
    "ScenarioSpec",
    "SliceSpec",
    "Suite",
    "gate_metric_known",
    "parse_suite",
]

SUITE_METRICS: tuple[str, ...] = (
    "accuracy",
    "macro_f1",
    "per_class",
    "log_loss",
    "ece",
    "coverage",
    "selective_accuracy",
    "latency",
    "cost",
)
BUILTIN_GATE_METRICS: tuple[str, ...] = (
    "must_pass",
    "probes",
    "robustness.invariance",
    "robustness.accuracy",
    "consistency",
    "latency.p50_ms",
    "latency.p95_ms",
    "latency.p99_ms",
    "cost.per_1k",
)
_SCALAR_METRICS = ("accuracy", "macro_f1", "log_loss", "ece", "coverage", "selective_accuracy")
_PER_CLASS_PARTS = ("precision", "recall", "f1")
_OPERATORS = ("eq", "ne", "in", "not_in", "contains", "lt", "le", "gt", "ge")
TEXT_LENGTH = "text_length"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Predicate(BaseModel):
    """``{column: value}`` or ``{column: {op: value}}`` for every column, all must hold.

    Operators: eq, ne, in, not_in, contains (a list or text holds the value), lt, le, gt, ge.
    The virtual column ``text_length`` is the length in characters of the suite's text field.

    >>> p = Predicate.model_validate({"language": "es", "text_length": {"lt": 30}})
    >>> p.matches({"language": "es"}, text_length=12), p.matches({"language": "en"}, 12)
    (True, False)
    >>> Predicate.model_validate({"tags": {"contains": "angry"}}).matches({"tags": ["angry"]}, 5)
    True
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data:
            raise ValueError("'where' needs at least one column, e.g. where: {language: es}")
        for column, cond in data.items():
            if isinstance(cond, dict):
                if not cond:
                    raise ValueError(f"{column}: give an operator, e.g. {{lt: 30}}")
                for op, value in cond.items():
                    if op not in _OPERATORS:
                        ops = ", ".join(_OPERATORS)
                        raise ValueError(f"{column}: unknown operator {op!r} (operators: {ops})")
                    if op in ("in", "not_in") and not isinstance(value, list):
                        raise ValueError(f"{column}: {op} takes a list")
                    if op in ("lt", "le", "gt", "ge") and (
                        isinstance(value, bool) or not isinstance(value, int | float)
                    ):
                        raise ValueError(f"{column}: {op} takes a number")
        return data

    def conditions(self) -> dict[str, dict[str, Any]]:
        """Every column's conditions as ``{op: value}``."""
        extra = self.model_extra or {}
        return {c: (v if isinstance(v, dict) else {"eq": v}) for c, v in extra.items()}

    def columns(self) -> list[str]:
        return list(self.model_extra or {})

    def matches(self, record: Mapping[str, Any], text_length: int) -> bool:
        """Whether ``record`` meets every condition (a missing value meets none but ne/not_in)."""
        for column, ops in self.conditions().items():
            value = text_length if column == TEXT_LENGTH else record.get(column)
            for op, target in ops.items():
                if not _holds(op, value, target):
                    return False
        return True


def _holds(op: str, value: Any, target: Any) -> bool:
    if op == "eq":
        return bool(value == target)
    if op == "ne":
        return bool(value != target)
    if op == "in":
        return value in target
    if op == "not_in":
        return value not in target
    if op == "contains":
        if isinstance(value, list | tuple | str):
            return target in value
        return False
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return bool(
        {"lt": value < target, "le": value <= target, "gt": value > target, "ge": value >= target}[
            op
        ]
    )


class ScenarioSpec(_Strict):
    name: str = Field(min_length=1)
    where: Predicate


class SliceSpec(_Strict):
    name: str = Field(min_length=1)
    where: Predicate


def _dataset_ref(value: str) -> str:
    """A suite names datasets as ``NAME`` or ``NAME@N``; anything else is an error in the file
    (naming its line), not a usage error of the command that reads it."""
    try:
        parse_dataset_ref(value)
    except UsageError as exc:
        raise ValueError(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None
    return value


class MustPassSpec(_Strict):
    """Cases that must all be answered as expected (label, and an automatic decision unless
    the case's ``decision`` column names another)."""

    dataset: str
    expected: str | None = None  # default: the suite's cases.expected
    decision: str = "decision"  # the column that may name the expected decision

    _ref = field_validator("dataset")(_dataset_ref)


class CasesSpec(_Strict):
    dataset: str
    expected: str = "label"
    # None: the column ``text`` when the cases have one, else no text field (a tabular model;
    # failure examples then show the row's inputs).
    text_field: str | None = None
    scenarios: list[ScenarioSpec] = Field(default_factory=list)
    must_pass: MustPassSpec | None = None

    _ref = field_validator("dataset")(_dataset_ref)


class RobustnessSpec(_Strict):
    perturbations: list[str] = Field(min_length=1)
    seed: int = 0
    optional_fields: list[str] | None = None  # for drop_optional; default: non-model inputs

    @field_validator("perturbations")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown perturbation family {unknown[0]!r} (families: {', '.join(FAMILIES)})"
            )
        return v


class ConsistencySpec(_Strict):
    """The same input ``repeats`` times on ``cases`` cases: how often the answers agree."""

    cases: int = Field(default=100, ge=1)
    repeats: int = Field(default=3, ge=2)


class ProbeExpect(_Strict):
    label: str | None = None
    decision: list[str] | None = None

    @field_validator("decision", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _something(self) -> ProbeExpect:
        if self.label is None and not self.decision:
            raise ValueError("expect needs a label, a decision (or a list of them), or both")
        return self


class ProbeSpec(_Strict):
    name: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(min_length=1)
    expect: ProbeExpect


class GateSpec(_Strict):
    """One gate: a metric, its scope (overall, a slice or a scenario), a rule and a kind.

    Rules: ``min``/``max`` on the point estimate; ``not_worse_than: baseline`` with an absolute
    ``margin``; ``better_than: baseline``.
    """

    metric: str
    kind: Literal["blocker", "guardrail", "goal", "signal"]
    slice: str | None = None
    scenario: str | None = None
    min: float | None = None
    max: float | None = None
    not_worse_than: Literal["baseline"] | None = None
    better_than: Literal["baseline"] | None = None
    margin: float | None = Field(default=None, ge=0)
    name: str | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> GateSpec:
        rules = [
            r
            for r in ("min", "max", "not_worse_than", "better_than")
            if getattr(self, r) is not None
        ]
        if len(rules) != 1:
            raise ValueError(
                "a gate needs exactly one rule: min, max, not_worse_than: baseline or "
                f"better_than: baseline (got {', '.join(rules) or 'none'})"
            )
        if self.margin is not None and self.not_worse_than is None:
            raise ValueError("margin applies only to not_worse_than: baseline")
        if self.not_worse_than is not None and self.margin is None:
            object.__setattr__(self, "margin", 0.0)
        if self.slice is not None and self.scenario is not None:
            raise ValueError("a gate is scoped to a slice or a scenario, not both")
        return self

    @property
    def rule(self) -> str:
        for r in ("min", "max", "not_worse_than", "better_than"):
            if getattr(self, r) is not None:
                return r
        raise AssertionError("validated")  # pragma: no cover

    @property
    def scope(self) -> str:
        if self.slice:
            return f"slice:{self.slice}"
        if self.scenario:
            return f"scenario:{self.scenario}"
        return "overall"

    @property
    def uses_baseline(self) -> bool:
        return self.rule in ("not_worse_than", "better_than")

    def label(self) -> str:
        """A readable name, e.g. ``accuracy[spanish] not worse than baseline by 0.01``."""
        if self.name:
            return self.name
        where = f"[{self.slice or self.scenario}]" if self.scope != "overall" else ""
        rule = {
            "min": f">= {self.min:g}" if self.min is not None else "",
            "max": f"<= {self.max:g}" if self.max is not None else "",
            "not_worse_than": f"not worse than baseline by {self.margin or 0:g}",
            "better_than": "better than baseline",
        }[self.rule]
        return f"{self.metric}{where} {rule}"


class Suite(_Strict):
    """A whole suite; construct it directly or with :func:`parse_suite`."""

    cases: CasesSpec
    metrics: list[str] = Field(default_factory=lambda: ["accuracy", "macro_f1"])
    slices: list[SliceSpec] = Field(default_factory=list)
    # Columns cut into named slices from the reference: top categories plus "other", or
    # quartile bins (see liveops.core.evaluation.slicing); the definitions are stored with each run.
    slice_by: list[str] = Field(default_factory=list)
    robustness: RobustnessSpec | None = None
    consistency: ConsistencySpec | None = ConsistencySpec()
    probes: list[ProbeSpec] = Field(default_factory=list)
    gates: list[GateSpec] = Field(default_factory=list)
    latency_calls: int = Field(default=200, ge=1)
    review: dict[str, Any] | None = None  # the review rubric, read by the review service

    @field_validator("metrics")
    @classmethod
    def _metrics_known(cls, v: list[str]) -> list[str]:
        unknown = [m for m in v if m not in SUITE_METRICS]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r} (metrics: {', '.join(SUITE_METRICS)})")
        return v

    @model_validator(mode="after")
    def _names(self) -> Suite:
        for what, items in (
            ("slice", self.slices),
            ("scenario", self.cases.scenarios),
            ("probe", self.probes),
        ):
            names = [i.name for i in items]
            dup = next((n for n in names if names.count(n) > 1), None)
            if dup is not None:
                raise ValueError(f"{what} {dup!r} is declared twice")
        dup = next((c for c in self.slice_by if self.slice_by.count(c) > 1), None)
        if dup is not None:
            raise ValueError(f"slice_by names column {dup!r} twice")
        return self

    def with_slices(self, made: Sequence[SliceSpec]) -> Suite:
        """This suite with the slices ``slice_by`` ``made`` written out as plain slices (and
        ``slice_by`` emptied, so a gate must now name one of them), validated again."""
        data = {**self.model_dump(), "slices": [*self.slices, *made], "slice_by": []}
        return Suite.model_validate(data)

    def slice_known(self, name: str) -> bool:
        """Whether a gate may name slice ``name``: a declared slice, or one that ``slice_by``
        will make (``COLUMN=VALUE``, ``COLUMN=other`` or ``COLUMN in [a, b)``), known only
        once the reference is read, so checked again when the evaluation starts."""
        if any(s.name == name for s in self.slices):
            return True
        return any(name.startswith((f"{c}=", f"{c} in [")) for c in self.slice_by)

    def suite_hash(self) -> str:
        """The content hash of the suite (stored with every run)."""
        return content_hash(self.model_dump(mode="json"))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def gate_problems(self) -> list[tuple[int, str, str]]:
        """``(gate index, field, message)`` for gates that name unknown metrics or scopes, or
        that could never have evidence (a built-in metric per slice, a robustness, probes or
        consistency gate without what measures it).

        A ``must_pass`` gate without a ``must_pass`` block is not refused here: the service's
        regression dataset may supply the cases (checked when an evaluation starts)."""
        problems: list[tuple[int, str, str]] = []
        slices = {s.name for s in self.slices}
        scenarios = {s.name for s in self.cases.scenarios}
        for i, g in enumerate(self.gates):
            before = len(problems)
            if not gate_metric_known(g.metric, self.metrics):
                problems.append((i, "metric", _unknown_metric(g.metric, self.metrics)))
            if g.slice is not None and not self.slice_known(g.slice):
                known = ", ".join(sorted(slices)) or "none declared"
                if self.slice_by:
                    cols = ", ".join(self.slice_by)
                    known += (
                        f"; slice_by makes COLUMN=VALUE and 'COLUMN in [a, b)' slices of {cols}"
                    )
                problems.append((i, "slice", f"unknown slice {g.slice!r} (slices: {known})"))
            if g.scenario is not None and g.scenario not in scenarios:
                known = ", ".join(sorted(scenarios)) or "none declared"
                problems.append(
                    (i, "scenario", f"unknown scenario {g.scenario!r} (scenarios: {known})")
                )
            if len(problems) == before and (why := self._without_evidence(g)) is not None:
                field = "metric" if g.scope == "overall" else g.scope.split(":")[0]
                problems.append((i, field, f"gate {g.label()!r}: {why}"))
        return problems

    def _without_evidence(self, g: GateSpec) -> str | None:
        """Why gate ``g`` (on a known metric) could never be judged, or None."""
        if g.metric in BUILTIN_GATE_METRICS and g.scope != "overall":
            kind = g.scope.split(":")[0]
            return (
                f"{g.metric} is measured over the whole suite, not per {kind}; remove "
                f"'{kind}: {g.slice or g.scenario}' (per-{kind} gates take "
                f"{', '.join(_SCALAR_METRICS)} or per_class.LABEL.*)"
            )
        if g.metric.startswith("robustness.") and self.robustness is None:
            return (
                f"the suite has no robustness block to measure {g.metric}; add "
                "robustness: {perturbations: [typos, casing]} or remove the gate"
            )
        if g.metric == "probes" and not self.probes:
            return "the suite declares no probes; add probes: [...] or remove the gate"
        if g.metric == "consistency" and self.consistency is None:
            return (
                "consistency is switched off (consistency: null); give it "
                "{cases: 100, repeats: 3} or remove the gate"
            )
        return None


def gate_metric_known(metric: str, suite_metrics: Sequence[str]) -> bool:
    """Whether a gate may use ``metric``: a name of the metric catalogue that is computed on a
    suite's cases, and, for the suite's own metrics, one the suite measures.

    >>> gate_metric_known("accuracy", ["accuracy"]), gate_metric_known("acuracy", ["accuracy"])
    (True, False)
    >>> gate_metric_known("per_class.billing.recall", ["per_class"])
    True
    >>> gate_metric_known("error_rate", ["accuracy"])  # live only: rollouts and alerts use it
    False
    """
    found = catalogue.lookup(metric)
    if found is None or not found.definition.valid("offline"):
        return False
    if metric in BUILTIN_GATE_METRICS:
        return True
    if metric in _SCALAR_METRICS:
        return metric in suite_metrics
    return found.definition.pattern.startswith("per_class.") and "per_class" in suite_metrics


def _unknown_metric(metric: str, suite_metrics: Sequence[str]) -> str:
    if metric in _SCALAR_METRICS:
        return f"gate metric {metric!r} is not among the suite's metrics; add it to 'metrics'"
    found = catalogue.lookup(metric)
    if found is not None and not found.definition.valid("offline"):
        return (
            f"gate metric {metric!r} is measured on live traffic only, not on a suite's cases "
            "(use it in a rollout gate or an alert rule)"
        )
    usable = [m for m in suite_metrics if m in _SCALAR_METRICS] + list(BUILTIN_GATE_METRICS)
    if "per_class" in suite_metrics:
        usable.append("per_class.LABEL.precision|recall|f1")
    close = difflib.get_close_matches(metric, usable, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown gate metric {metric!r}{guess} (gate metrics: {', '.join(usable)})"


def parse_suite(text: str, filename: str = "suite.yaml") -> Suite:
    """Parse and validate suite text; raise :class:`ProjectFileError` naming the line."""
    doc = parse_yaml(text, filename)
    if doc.value is None:
        raise doc.error((), "the suite is empty", hint="a suite needs at least 'cases:'")
    if not isinstance(doc.value, dict):
        raise doc.error((), "expected a mapping with 'cases', 'metrics', 'gates' ...")
    try:
        suite = Suite.model_validate(doc.value)
    except ValidationError as exc:
        raise doc.validation_error(exc) from None
    problems = suite.gate_problems()
    if problems:
        i, fld, message = problems[0]
        raise doc.error(("gates", i, fld), message)
    return suite
