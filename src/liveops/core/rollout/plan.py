"""A rollout plan: its steps (shadow, canary), the sticky key and the gates judged at each look.

The plan is the ``rollout:`` block of a service in ``liveops.yaml`` (a release copies it when it
is created). Every step needs a minimum duration and a minimum sample, so no step can advance
on the first minute's luck; gates are written as the suite's gates
(:class:`~liveops.core.rollout.gates.RolloutGate`) on a metric of the catalogue.

>>> plan = parse_plan({
...     "key": {"header": "X-User-Id"},
...     "steps": [
...         {"shadow": 1.0, "min_duration": "10m", "min_sample": 200},
...         {"canary": "10%", "min_duration": "1h", "min_sample": 500},
...         {"canary": 1.0, "min_duration": "1h", "min_sample": 500},
...     ],
...     "gates": [{"metric": "error_rate", "kind": "guardrail",
...                "not_worse_than": "baseline", "margin": 0.01}],
... })
>>> [s.label() for s in plan.steps]
['shadow 100%', 'canary 10%', 'canary 100%']
>>> plan.steps[1].min_duration_s, plan.key.header  # headers are matched lower-cased
(3600.0, 'x-user-id')
>>> try:
...     parse_plan({"steps": [{"canary": 0.1, "min_duration": "1h"}], "gates": []})
... except PlanError as exc:
...     print(exc.path, exc.message)
('steps', 0, 'min_sample') a step needs a minimum sample (min_sample: answers in the candidate arm)

An A/B plan (``mode: ab``) holds one fixed split for a planned duration and compares its goals
at the end (:mod:`liveops.core.rollout.ab`); its ``gates`` are guardrails, judged at every look:

>>> ab = parse_plan({"mode": "ab", "split": "50%", "duration": "7d",
...                  "goals": [{"metric": "accuracy"}, {"metric": "outcome.resolved.rate"}]})
>>> ab.mode, ab.steps[0].label(), ab.steps[0].min_duration_s, [g.label() for g in ab.goals]
('ab', 'canary 50%', 604800.0, ['accuracy', 'outcome.resolved.rate'])
>>> try:
...     parse_plan({"mode": "ab", "split": "50%", "goals": [{"metric": "accuracy"}]})
... except PlanError as exc:
...     print(exc.path, exc.message)
('duration',) an A/B rollout needs a planned duration (duration: e.g. 7d)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from liveops.core.rollout.ab import AbGoal
from liveops.core.rollout.gates import RolloutGate
from liveops.core.rollout.sequential import DEFAULT_ALPHA, DEFAULT_MIN_SAMPLE
from liveops.errors import LiveopsError

__all__ = ["PlanError", "RolloutPlan", "RolloutStep", "StickyKey", "parse_duration", "parse_plan"]

StepKind = Literal["shadow", "canary"]
PlanMode = Literal["steps", "ab"]
Path = tuple[str | int, ...]
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PLAN_KEYS = ("key", "steps", "gates", "watch", "notify", "mode")
_AB_KEYS = ("mode", "key", "split", "duration", "goals", "mde", "gates", "notify")
DEFAULT_MDE = 0.02
_STEP_KEYS = ("shadow", "canary", "min_duration", "min_sample")


class PlanError(LiveopsError):
    """A problem in a rollout plan, at ``path`` inside the plan (the project file adds where
    the plan is)."""

    status = 422
    code = "invalid_rollout_plan"

    def __init__(self, path: Path, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


def parse_duration(value: Any) -> float:
    """Seconds from ``90s``, ``30m``, ``2h``, ``1d`` or a bare number of seconds.

    >>> parse_duration("30m"), parse_duration(45), parse_duration("1.5h")
    (1800.0, 45.0, 5400.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value).strip())
        if not m:
            raise ValueError(f"{value!r} is not a duration (e.g. 90s, 30m, 2h, 1d)")
        seconds = float(m.group(1)) * _UNIT_S[m.group(2) or "s"]
    if seconds < 0:
        raise ValueError(f"{value!r} is not a duration: it is negative")
    return seconds


def _share(value: Any) -> float:
    """A share of traffic from ``0.1`` or ``"10%"``, in (0, 1]."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a share")
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"{value!r} is not a share (e.g. 10% or 0.1)") from None
    elif isinstance(value, int | float):
        share = float(value)
    else:
        raise ValueError(f"{value!r} is not a share (e.g. 10% or 0.1)")
    if not 0.0 < share <= 1.0:
        raise ValueError(f"a share is above 0 and at most 100%, got {value!r}")
    return share


@dataclass(frozen=True)
class StickyKey:
    """What a request's arm is picked by: a header, or an input field; neither: random."""

    header: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {"header": self.header} if self.header else {"field": self.field or ""}


@dataclass(frozen=True)
class RolloutStep:
    """One step: ``shadow`` copies ``share`` of requests to the candidate (its answers are
    logged, never returned); ``canary`` sends ``share`` of live traffic to it."""

    kind: StepKind
    share: float
    min_duration_s: float
    min_sample: int

    def label(self) -> str:
        return f"{self.kind} {self.share * 100:g}%"

    def to_dict(self) -> dict[str, Any]:
        return {
            self.kind: self.share,
            "min_duration": self.min_duration_s,
            "min_sample": self.min_sample,
        }


@dataclass(frozen=True)
class RolloutPlan:
    steps: tuple[RolloutStep, ...]
    gates: tuple[RolloutGate, ...]
    key: StickyKey | None = None
    watch_s: float = 0.0  # after the last step: keep judging the gates this long
    notify: tuple[str, ...] = ()  # receivers told of every transition (liveops.yaml receivers:)
    mode: PlanMode = "steps"
    goals: tuple[AbGoal, ...] = ()  # A/B: compared at the end of the duration
    mde: float = DEFAULT_MDE  # A/B: the difference the planned sample is sized to detect

    @property
    def ab(self) -> bool:
        return self.mode == "ab"

    def to_dict(self) -> dict[str, Any]:
        if self.ab:
            step = self.steps[0]
            ab: dict[str, Any] = {
                "mode": "ab",
                "split": step.share,
                "duration": step.min_duration_s,
                "goals": [g.to_dict() for g in self.goals],
                "mde": self.mde,
                "gates": [_gate_dict(g) for g in self.gates],
            }
            if self.key is not None:
                ab["key"] = self.key.to_dict()
            if self.notify:
                ab["notify"] = list(self.notify)
            return ab
        out: dict[str, Any] = {
            "steps": [s.to_dict() for s in self.steps],
            "gates": [_gate_dict(g) for g in self.gates],
        }
        if self.key is not None:
            out["key"] = self.key.to_dict()
        if self.watch_s:
            out["watch"] = self.watch_s
        if self.notify:
            out["notify"] = list(self.notify)
        return out


def _gate_dict(g: RolloutGate) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": g.metric, "kind": g.kind, g.rule: "baseline"}
    if g.rule == "not_worse_than":
        out["margin"] = g.margin
    for name in ("slice", "require", "name", "planned_n"):
        if getattr(g, name) is not None:
            out[name] = getattr(g, name)
    if g.alpha != DEFAULT_ALPHA:
        out["alpha"] = g.alpha
    if g.min_sample != DEFAULT_MIN_SAMPLE:
        out["min_sample"] = g.min_sample
    return out


def parse_plan(value: Any, inputs: Sequence[str] | None = None) -> RolloutPlan:
    """Validate a plan (the parsed YAML of a ``rollout:`` block); raise :class:`PlanError`
    naming the place inside the plan. ``inputs``: the service's input fields, which a sticky
    key ``field`` must name."""
    if not isinstance(value, Mapping):
        raise PlanError((), "a rollout plan is a mapping with steps and gates")
    mode = value.get("mode", "steps")
    if mode == "ab":
        return _ab_plan(value, inputs)
    if mode != "steps":
        raise PlanError(("mode",), f"mode is steps (the default) or ab, not {mode!r}")
    unknown = [k for k in value if k not in _PLAN_KEYS]
    if unknown:
        raise PlanError(
            (str(unknown[0]),),
            "unknown field (a typo?)",
            hint=f"a rollout plan has: {', '.join(_PLAN_KEYS)}",
        )
    steps_raw = value.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise PlanError(("steps",), "a rollout plan needs a list of steps (shadow, canary)")
    steps = tuple(_step(i, s) for i, s in enumerate(steps_raw))
    if steps[-1].kind != "canary" or steps[-1].share != 1.0:
        raise PlanError(
            ("steps", len(steps) - 1),
            "the last step must be canary 100% (the candidate answers everything before it "
            "becomes production)",
        )
    gates_raw = value.get("gates", [])
    if not isinstance(gates_raw, list):
        raise PlanError(("gates",), "gates is a list of gates")
    gates = tuple(_gate(j, g) for j, g in enumerate(gates_raw))
    key = _key(value.get("key"), inputs)
    watch = 0.0
    if value.get("watch") is not None:
        try:
            watch = parse_duration(value["watch"])
        except ValueError as exc:
            raise PlanError(("watch",), str(exc)) from None
    return RolloutPlan(steps, gates, key, watch, _notify(value.get("notify")))


def _ab_plan(value: Mapping[str, Any], inputs: Sequence[str] | None) -> RolloutPlan:
    """``mode: ab``: one canary step at ``split`` for ``duration``, goals compared at its end."""
    unknown = [k for k in value if k not in _AB_KEYS]
    if unknown:
        raise PlanError(
            (str(unknown[0]),),
            "unknown field in an A/B plan (a typo?)",
            hint=f"an A/B plan has: {', '.join(_AB_KEYS)}",
        )
    if value.get("split") is None:
        raise PlanError(("split",), "an A/B rollout needs a split (split: the candidate's share)")
    try:
        split = _share(value["split"])
    except ValueError as exc:
        raise PlanError(("split",), str(exc)) from None
    if split >= 1.0:
        raise PlanError(("split",), "an A/B split leaves the baseline some traffic: below 100%")
    if value.get("duration") is None:
        raise PlanError(
            ("duration",), "an A/B rollout needs a planned duration (duration: e.g. 7d)"
        )
    try:
        duration = parse_duration(value["duration"])
    except ValueError as exc:
        raise PlanError(("duration",), str(exc)) from None
    if duration <= 0:
        raise PlanError(("duration",), "an A/B rollout's duration must be above 0")
    goals_raw = value.get("goals")
    if not isinstance(goals_raw, list) or not goals_raw:
        raise PlanError(
            ("goals",), "an A/B rollout needs a list of goals, e.g. [{metric: accuracy}]"
        )
    goals: list[AbGoal] = []
    for j, raw in enumerate(goals_raw):
        if not isinstance(raw, Mapping):
            raise PlanError(("goals", j), "a goal is a mapping, e.g. {metric: accuracy}")
        try:
            goals.append(AbGoal.from_spec(raw))
        except LiveopsError as exc:
            field = "metric" if "metric" in raw else None
            raise PlanError(
                ("goals", j, *([field] if field else [])), exc.message, hint=exc.hint
            ) from None
    mde = value.get("mde", DEFAULT_MDE)
    if isinstance(mde, bool) or not isinstance(mde, int | float) or not 0.0 < mde < 1.0:
        raise PlanError(("mde",), f"mde is an absolute difference above 0, e.g. 0.02, not {mde!r}")
    gates_raw = value.get("gates", [])
    if not isinstance(gates_raw, list):
        raise PlanError(("gates",), "gates is a list of guardrails")
    gates = tuple(_gate(j, g) for j, g in enumerate(gates_raw))
    step = RolloutStep("canary", split, duration, 1)
    return RolloutPlan(
        (step,), gates, _key(value.get("key"), inputs), 0.0, _notify(value.get("notify")),
        mode="ab", goals=tuple(goals), mde=float(mde),
    )  # fmt: skip


def _notify(raw: Any) -> tuple[str, ...]:
    """The receivers named by ``notify:`` (whether they are declared is the project's check)."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise PlanError(("notify",), "notify is a list of receivers, e.g. [ops-hook]")
    for k, name in enumerate(raw):
        if not isinstance(name, str) or not name.strip():
            raise PlanError(("notify", k), f"a receiver's name, not {name!r}")
    return tuple(dict.fromkeys(raw))


def _step(i: int, raw: Any) -> RolloutStep:
    if not isinstance(raw, Mapping):
        raise PlanError(("steps", i), "a step is a mapping, e.g. {canary: 10%, ...}")
    unknown = [k for k in raw if k not in _STEP_KEYS]
    if unknown:
        raise PlanError(
            ("steps", i, str(unknown[0])),
            "unknown field (a typo?)",
            hint=f"a step has: {', '.join(_STEP_KEYS)}",
        )
    kinds = [k for k in ("shadow", "canary") if k in raw]
    if len(kinds) != 1:
        raise PlanError(("steps", i), "a step is exactly one of shadow: SHARE or canary: SHARE")
    kind: StepKind = "shadow" if kinds[0] == "shadow" else "canary"
    try:
        share = _share(raw[kind])
    except ValueError as exc:
        raise PlanError(("steps", i, kind), str(exc)) from None
    if raw.get("min_duration") is None:
        raise PlanError(
            ("steps", i, "min_duration"),
            "a step needs a minimum duration (min_duration: e.g. 30m)",
            hint="without one a step could advance on the first minute's luck",
        )
    if raw.get("min_sample") is None:
        raise PlanError(
            ("steps", i, "min_sample"),
            "a step needs a minimum sample (min_sample: answers in the candidate arm)",
        )
    try:
        duration = parse_duration(raw["min_duration"])
    except ValueError as exc:
        raise PlanError(("steps", i, "min_duration"), str(exc)) from None
    sample = raw["min_sample"]
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise PlanError(
            ("steps", i, "min_sample"), f"a whole number of answers >= 1, not {sample!r}"
        )
    return RolloutStep(kind, share, duration, sample)


def _gate(j: int, raw: Any) -> RolloutGate:
    if not isinstance(raw, Mapping):
        raise PlanError(("gates", j), "a gate is a mapping, e.g. {metric: error_rate, ...}")
    try:
        return RolloutGate.from_spec(raw)
    except LiveopsError as exc:
        field = "metric" if exc.message.startswith(("unknown metric", "metric ")) else None
        raise PlanError(
            ("gates", j, *([field] if field else [])), exc.message, hint=exc.hint
        ) from None


def _key(raw: Any, inputs: Sequence[str] | None) -> StickyKey | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in ("header", "field"):
        raise PlanError(("key",), "key is {header: NAME} or {field: INPUT}")
    ((kind, name),) = raw.items()
    if not isinstance(name, str) or not name:
        raise PlanError(("key", kind), "name a header or an input field")
    if kind == "field":
        if inputs is not None and name not in inputs:
            raise PlanError(
                ("key", "field"),
                f"{name!r} is not one of the service's inputs ({', '.join(inputs)})",
            )
        return StickyKey(field=name)
    return StickyKey(header=name.lower())
