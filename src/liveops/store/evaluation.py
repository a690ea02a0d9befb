"""The evaluation aggregate: runs (with their summary) and the cases behind them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, RowMapping, select

from liveops.core.evaluation.summary import EvalSummary
from liveops.core.records import EvalCaseRecord, EvalRunRecord
from liveops.store.db import connect
from liveops.store.registry import utc
from liveops.store.tables import eval_cases, eval_runs


class EvaluationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert_run(
        self, conn: Connection, run: EvalRunRecord, cases: Sequence[EvalCaseRecord]
    ) -> None:
        """Store a run and its cases (in the caller's write transaction)."""
        conn.execute(
            eval_runs.insert().values(
                id=run.id,
                service=run.service,
                version=run.version,
                baseline_version=run.baseline_version,
                suite_hash=run.suite_hash,
                created_at=run.created_at,
                actor=run.actor,
                summary=run.summary.to_dict(),
                exit_code=run.exit_code,
            )
        )
        if cases:
            conn.execute(
                eval_cases.insert(),
                [
                    {
                        "run_id": run.id,
                        "case_id": c.case_id,
                        "source": c.source,
                        "inputs": c.inputs,
                        "expected": c.expected,
                        "predicted": c.predicted,
                        "confidence": c.confidence,
                        "decision": c.decision,
                        "correct": c.correct,
                        "error": c.error,
                        "groups": list(c.groups),
                    }
                    for c in cases
                ],
            )

    def get_run(self, run_id: str) -> EvalRunRecord | None:
        """The run with id ``run_id``, or the only run whose id starts with it."""
        with connect(self._engine, write=False) as conn:
            row = conn.execute(select(eval_runs).where(eval_runs.c.id == run_id)).mappings().first()
            if row is None and run_id:
                rows = (
                    conn.execute(
                        select(eval_runs).where(eval_runs.c.id.startswith(run_id, autoescape=True))
                    )
                    .mappings()
                    .all()
                )
                row = rows[0] if len(rows) == 1 else None
        return _run(row) if row else None

    def list_runs(
        self, service: str | None = None, version: int | None = None, limit: int = 50
    ) -> list[EvalRunRecord]:
        """Newest first."""
        q = select(eval_runs).order_by(eval_runs.c.created_at.desc(), eval_runs.c.id.desc())
        if service is not None:
            q = q.where(eval_runs.c.service == service)
        if version is not None:
            q = q.where(eval_runs.c.version == version)
        with connect(self._engine, write=False) as conn:
            return [_run(r) for r in conn.execute(q.limit(limit)).mappings()]

    def cases(self, run_id: str, source: str | None = None) -> list[EvalCaseRecord]:
        """The stored cases of a run, in the order they were stored."""
        q = select(eval_cases).where(eval_cases.c.run_id == run_id).order_by(eval_cases.c.id)
        if source is not None:
            q = q.where(eval_cases.c.source == source)
        with connect(self._engine, write=False) as conn:
            return [_case(r) for r in conn.execute(q).mappings()]


def _run(r: RowMapping) -> EvalRunRecord:
    return EvalRunRecord(
        id=r["id"],
        service=r["service"],
        version=int(r["version"]),
        baseline_version=None if r["baseline_version"] is None else int(r["baseline_version"]),
        suite_hash=r["suite_hash"],
        created_at=utc(r["created_at"]),
        actor=r["actor"],
        summary=EvalSummary.from_dict(r["summary"]),
        exit_code=int(r["exit_code"]),
    )


def _case(r: RowMapping) -> EvalCaseRecord:
    return EvalCaseRecord(
        case_id=r["case_id"],
        source=r["source"],
        inputs=dict(r["inputs"]),
        expected=r["expected"],
        predicted=r["predicted"],
        confidence=None if r["confidence"] is None else float(r["confidence"]),
        decision=r["decision"],
        correct=None if r["correct"] is None else bool(r["correct"]),
        error=r["error"],
        groups=tuple(r["groups"] or ()),
    )
