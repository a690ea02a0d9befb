"""A rollout's record and its states.

``running`` (the controller looks and acts), ``held`` (a step's minimum duration and sample are
met but a ``require: pass`` gate is still inconclusive: it waits, or a person decides),
``paused`` (a person stopped the controller; traffic stays split as it is), ``watching`` (the
last step passed and the plan's ``watch`` window runs: the candidate answers everything, the
gates are still judged, and production moves when the window ends), and the ends:
``completed`` (the candidate became production), ``rolled_back`` (a gate or the split check
failed), ``aborted`` (a person stopped it), ``concluded`` (an A/B rollout's duration ended:
its goals' results are recorded, every request goes to the baseline again, and a person
decides). The first four are *active*: the gateways route by them, and a service has at most
one.

>>> RolloutRecord.__name__, sorted(ACTIVE_STATES)
('RolloutRecord', ['held', 'paused', 'running', 'watching'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from liveops.core.rollout.plan import RolloutPlan, RolloutStep, parse_plan

__all__ = ["ACTIVE_STATES", "END_STATES", "RolloutLook", "RolloutRecord", "RolloutStateName"]

RolloutStateName = Literal[
    "running", "paused", "held", "watching", "aborted", "rolled_back", "completed", "concluded"
]
ACTIVE_STATES: frozenset[str] = frozenset({"running", "paused", "held", "watching"})
END_STATES: frozenset[str] = frozenset({"aborted", "rolled_back", "completed", "concluded"})


@dataclass(frozen=True)
class RolloutRecord:
    id: str
    service: str
    version: int  # the candidate
    baseline: int  # the production version when it started
    release_id: str | None
    plan_data: Mapping[str, Any]
    state: str
    step: int
    step_started_at: datetime
    started_at: datetime
    started_by: str
    updated_at: datetime
    ended_at: datetime | None = None
    reason: str | None = None
    plan: RolloutPlan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", parse_plan(self.plan_data))

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def current(self) -> RolloutStep:
        return self.plan.steps[min(self.step, len(self.plan.steps) - 1)]

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "version": self.version,
            "baseline": self.baseline,
            "release_id": self.release_id,
            "state": self.state,
            "step": self.step,
            "mode": self.plan.mode,
            "steps": [s.label() for s in self.plan.steps],
            "current_step": (
                f"A/B {self.current.share * 100:g}%" if self.plan.ab else self.current.label()
            ),
            "step_started_at": self.step_started_at.isoformat(),
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by,
            "updated_at": self.updated_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "reason": self.reason,
            "plan": dict(self.plan_data),
        }


@dataclass(frozen=True)
class RolloutLook:
    """One look of the controller: what it did and every gate's verdict with raw values."""

    rollout_id: str
    seq: int
    at: datetime
    step: int
    action: Literal["advance", "hold", "abort", "wait", "conclude"]
    detail: str
    gates: tuple[Mapping[str, Any], ...]
    counts: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout_id": self.rollout_id,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "step": self.step,
            "action": self.action,
            "detail": self.detail,
            "gates": [dict(g) for g in self.gates],
            "counts": dict(self.counts),
        }
