"""Gates: a named check on a metric, judged on evidence, with the raw values behind the verdict.

The same :class:`Gate` judges a version before launch (offline evaluation), a live rollout and
a retrained model: only the evidence differs. Rules (docs/conventions.md):

- ``min``/``max``: compare the point estimate (the interval is reported beside it);
- ``not_worse_than: baseline, margin: m``: the 95 % paired bootstrap interval of how much worse
  the candidate is (baseline - candidate for higher-is-better metrics); pass when its upper
  bound is below m, fail when its lower bound is above m, otherwise inconclusive;
- ``better_than: baseline``: the interval of the improvement; pass above 0, fail below 0,
  otherwise inconclusive;
- without a baseline, baseline gates are skipped with the reason; missing evidence is an error.

>>> from liveops.core.evaluation.suite import GateSpec
>>> gate = Gate(GateSpec(metric="accuracy", min=0.8, kind="blocker"))
>>> gate.evaluate(Evidence({("accuracy", "overall"): MetricEvidence(0.83, (0.8, 0.86))})).verdict
'pass'
>>> g = Gate(GateSpec(metric="accuracy", better_than="baseline", kind="goal"))
>>> g.evaluate(Evidence({}, baseline_reason="no production alias")).verdict
'skipped'
>>> exit_code([gate.evaluate(Evidence({("accuracy", "overall"): MetricEvidence(0.7)}))])
1
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from liveops.core import catalogue, exits

if TYPE_CHECKING:  # only typed here: reading a stored verdict needs no suite (nor pydantic)
    from liveops.core.evaluation.suite import GateSpec

__all__ = [
    "Evidence",
    "Gate",
    "GateVerdict",
    "Interval",
    "MetricEvidence",
    "Verdict",
    "exit_code",
    "higher_is_better",
    "interval_of",
]

Verdict = Literal["pass", "fail", "inconclusive", "error", "skipped"]
VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "inconclusive", "error", "skipped")
Interval = tuple[float, float]
CHECKED_KINDS: tuple[str, ...] = ("blocker", "guardrail")


def interval_of(v: Any) -> Interval | None:
    """An interval from its stored form (a two-item list) or None."""
    return None if v is None else (float(v[0]), float(v[1]))


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (latency, cost, loss and ECE: no), as
    the metric catalogue says."""
    return catalogue.higher_is_better(metric)


@dataclass(frozen=True)
class MetricEvidence:
    """One metric in one scope: the candidate's value and, when compared, the baseline's.

    ``diff_interval`` is the 95 % paired interval of (candidate - baseline).
    """

    value: float | None
    interval: tuple[float, float] | None = None
    n: int | None = None
    baseline_value: float | None = None
    diff_interval: tuple[float, float] | None = None
    mcnemar: Mapping[str, Any] | None = None
    problem: str | None = None  # why the value is missing


@dataclass(frozen=True)
class Evidence:
    """What gates are judged on: evidence per ``(metric, scope)``; scope as in GateSpec.scope.

    ``baseline`` names the compared version; ``baseline_reason`` says why there is none.
    """

    metrics: Mapping[tuple[str, str], MetricEvidence]
    baseline: str | None = None
    baseline_reason: str | None = None

    def get(self, metric: str, scope: str) -> MetricEvidence | None:
        return self.metrics.get((metric, scope))


@dataclass(frozen=True)
class GateVerdict:
    """A gate's verdict with the raw values behind it."""

    gate: str
    metric: str
    scope: str
    kind: str
    rule: str
    verdict: Verdict
    reason: str
    value: float | None = None
    interval: tuple[float, float] | None = None
    threshold: float | None = None
    baseline: str | None = None
    baseline_value: float | None = None
    diff_interval: tuple[float, float] | None = None
    mcnemar: dict[str, Any] | None = None
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> bool:
        """Whether the verdict can change the exit code (blockers and guardrails only)."""
        return self.kind in CHECKED_KINDS

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("interval", "diff_interval"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GateVerdict:
        """A verdict as :meth:`to_dict` stored it."""
        verdict = d["verdict"]
        if verdict not in VERDICTS:
            raise ValueError(f"unknown gate verdict {verdict!r}")

        def number(key: str) -> float | None:
            return None if d.get(key) is None else float(d[key])

        return cls(
            gate=str(d["gate"]),
            metric=str(d["metric"]),
            scope=str(d.get("scope") or "overall"),
            kind=str(d["kind"]),
            rule=str(d.get("rule") or ""),
            verdict=verdict,
            reason=str(d.get("reason") or ""),
            value=number("value"),
            interval=interval_of(d.get("interval")),
            threshold=number("threshold"),
            baseline=d.get("baseline"),
            baseline_value=number("baseline_value"),
            diff_interval=interval_of(d.get("diff_interval")),
            mcnemar=dict(d["mcnemar"]) if d.get("mcnemar") else None,
            spec=dict(d.get("spec") or {}),
        )


class Gate:
    """A gate definition that judges evidence: ``Gate(spec).evaluate(evidence)``."""

    def __init__(self, spec: GateSpec) -> None:
        self.spec = spec

    def evaluate(self, evidence: Evidence) -> GateVerdict:
        s = self.spec
        base: dict[str, Any] = {
            "gate": s.label(),
            "metric": s.metric,
            "scope": s.scope,
            "kind": s.kind,
            "rule": s.rule,
            "spec": s.model_dump(mode="json", exclude_none=True),
        }
        if s.uses_baseline and evidence.baseline is None:
            reason = evidence.baseline_reason or "no baseline version"
            return GateVerdict(**base, verdict="skipped", reason=f"skipped: {reason}")
        ev = evidence.get(s.metric, s.scope)
        if ev is None or ev.value is None or not math.isfinite(ev.value):
            why = (ev.problem if ev is not None else None) or "no evidence for this metric"
            return GateVerdict(**base, verdict="error", reason=why)
        common: dict[str, Any] = {**base, "value": ev.value, "interval": ev.interval}
        if s.rule in ("min", "max"):
            threshold = s.min if s.rule == "min" else s.max
            assert threshold is not None
            ok = ev.value >= threshold if s.rule == "min" else ev.value <= threshold
            op = (">=" if ok else "<") if s.rule == "min" else ("<=" if ok else ">")
            return GateVerdict(
                **common,
                verdict="pass" if ok else "fail",
                threshold=threshold,
                reason=f"{_fmt(ev.value)} {op} {threshold:g}",
            )
        return self._against_baseline(common, ev, evidence.baseline)

    def _against_baseline(
        self, common: dict[str, Any], ev: MetricEvidence, baseline: str | None
    ) -> GateVerdict:
        s = self.spec
        extra: dict[str, Any] = {
            "baseline": baseline,
            "baseline_value": ev.baseline_value,
            "diff_interval": ev.diff_interval,
            "mcnemar": dict(ev.mcnemar) if ev.mcnemar else None,
        }
        if ev.diff_interval is None or ev.baseline_value is None:
            why = ev.problem or f"no paired evidence against {baseline}"
            return GateVerdict(**common, **extra, verdict="error", reason=why)
        lo, hi = ev.diff_interval
        sign = 1.0 if higher_is_better(s.metric) else -1.0
        # improvement = sign * (candidate - baseline); its interval, low to high
        imp_lo, imp_hi = sorted((sign * lo, sign * hi))
        if s.rule == "not_worse_than":
            margin = s.margin or 0.0
            worse_lo, worse_hi = -imp_hi, -imp_lo
            ci = f"worse by [{_fmt(worse_lo)}, {_fmt(worse_hi)}] (95 %), margin {margin:g}"
            if worse_hi < margin:
                verdict: Verdict = "pass"
            elif worse_lo > margin:
                verdict = "fail"
            else:
                verdict = "inconclusive"
            return GateVerdict(**common, **extra, verdict=verdict, threshold=margin, reason=ci)
        ci = f"better by [{_fmt(imp_lo)}, {_fmt(imp_hi)}] (95 %)"
        if imp_lo > 0:
            verdict = "pass"
        elif imp_hi < 0:
            verdict = "fail"
        else:
            verdict = "inconclusive"
        if ev.mcnemar:
            ci += f"; McNemar p={ev.mcnemar['pvalue']:.3g}"
        return GateVerdict(**common, **extra, verdict=verdict, threshold=0.0, reason=ci)


def exit_code(verdicts: Sequence[GateVerdict]) -> int:
    """The CLI exit code of a set of verdicts: only blockers and guardrails count.

    A failure (1) wins over an error (4), which wins over inconclusive (3); else 0
    (:func:`liveops.core.exits.exit_code`, the one rule).
    """
    return exits.exit_code(v.verdict for v in verdicts if v.counts)


def _fmt(x: float) -> str:
    """Four decimals at most, no trailing zeros, and no ``-0`` (an interval of no change).

    >>> _fmt(0.12340), _fmt(-0.0), _fmt(-0.00001)
    ('0.1234', '0', '0')
    """
    if x != x:
        return "nan"
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
