"""Demo stage: evaluate v1 (production, so no baseline) and v2 against v1 on the demo suite.

v1 passes every blocker and guardrail (its baseline gates are skipped: it is production
itself). v2 is better overall (the accuracy goal passes) but much worse on Spanish messages,
so the guardrail ``accuracy[spanish] not worse than baseline`` fails and the run exits 1.
Re-running the demo skips a version that already has an evaluation run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveops.core.evaluation.gates import GateVerdict
from liveops.core.records import EvalRunRecord
from liveops.services.evaluation import run_eval
from liveops.store import Store

__all__ = ["EXAMPLES", "EvalStageResult", "EvaluatedVersion", "failing_examples", "run_eval_stage"]

EXAMPLES = 3  # failing examples shown per failed slice or scenario gate
_GATE_KEYS = ("kind", "gate", "metric", "scope", "verdict", "value", "interval", "reason")
Step = Callable[[str, bool], None]  # (step, done); done is False when skipped
Detail = Callable[[str, int, int], None]  # (stage, done, total) of a run in progress


@dataclass(frozen=True)
class EvaluatedVersion:
    """A version's latest evaluation run, and whether this demo run made it."""

    ref: str
    run: EvalRunRecord
    created: bool

    @property
    def gates(self) -> tuple[GateVerdict, ...]:
        return self.run.verdicts

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.ref,
            "run": self.run.id,
            "baseline": self.run.summary.baseline,
            "exit_code": self.run.exit_code,
            "created": self.created,
            "gates": [{k: g.to_dict()[k] for k in _GATE_KEYS} for g in self.gates],
            "failing_examples": failing_examples(self.run),
        }


@dataclass
class EvalStageResult:
    evaluated: list[EvaluatedVersion] = field(default_factory=list)

    @property
    def created(self) -> list[str]:
        return [e.run.id for e in self.evaluated if e.created]


def failing_examples(run: EvalRunRecord, limit: int = EXAMPLES) -> list[dict[str, Any]]:
    """Cases behind each failed slice or scenario gate: ``scope``, ``text``, ``expected``,
    ``predicted`` (taken from the run's failure analysis)."""
    out: list[dict[str, Any]] = []
    failures = run.summary.failures
    seen: set[str] = set()
    for g in run.verdicts:
        kind, _, name = g.scope.partition(":")
        if g.verdict != "fail" or kind not in ("slice", "scenario") or g.scope in seen:
            continue
        seen.add(g.scope)
        groups = failures.slice if kind == "slice" else failures.scenario
        group = next((x for x in groups if x.name == name), None)
        for ex in group.examples[:limit] if group else ():
            out.append(
                {
                    "scope": g.scope,
                    "case": ex.case,
                    "text": ex.text,
                    "expected": ex.expected,
                    "predicted": ex.predicted,
                }
            )
    return out


def run_eval_stage(
    store: Store,
    folder: Path,
    plan: Sequence[tuple[str, str | None]],
    *,
    actor: str,
    step: Step,
    detail: Detail | None = None,
) -> EvalStageResult:
    """Evaluate each ``(version ref, baseline)`` of ``plan`` that has no evaluation run yet.

    A ``None`` baseline means the default (the production alias; none for production itself).
    """
    result = EvalStageResult()
    for ref, baseline in plan:
        service, _, number = ref.partition("@")
        against = f" against {service}@{baseline}" if baseline else ""
        existing = store.evaluation.list_runs(service, int(number), limit=1)
        if existing:
            run, created = existing[0], False
        else:
            done = run_eval(
                store,
                ref,
                baseline=baseline,
                actor=actor,
                project_dir=folder,
                progress=detail,
            )
            run, created = done.run, True
        result.evaluated.append(EvaluatedVersion(ref, run, created))
        step(f"evaluate {ref}{against} (run {run.id}, exit code {run.exit_code})", created)
    return result
