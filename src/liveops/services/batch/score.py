"""Scoring one chunk: the gateway's checks, model, decision layer and log records, in bulk.

A :class:`Scorer` is built from a picklable :class:`ScorerSpec` wherever chunks are scored (the
driver, a worker process, a Ray actor), so every engine runs this same code. Per chunk it
checks each row against the service's inputs (``check_instance``, as the gateway does), asks
the version's model for the valid rows in one call, applies the version's decision layer
(``decide``: threshold, sensitive input, rules or version fallback), logs each answer with
``source: batch`` (ids from the run id and the row index) and only then writes the chunk's
part: a chunk whose part exists is finished, answers logged included.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from liveops.core.model import BatchOutput
from liveops.core.sensitive import Finding, find_sensitive_column
from liveops.core.serving.decision import DecidedBatch, decide, sensitive_kinds
from liveops.core.serving.inputs import check_instance
from liveops.core.serving.prediction import batch_prediction_ids
from liveops.errors import ModelError, ModelUnavailableError
from liveops.services.batch import parts
from liveops.services.batch.inputs import records_of, surely_valid
from liveops.services.predictions import DirectLog
from liveops.services.predictions.columns import ABSENT, RecordColumns
from liveops.services.registry import get_service_spec
from liveops.services.serving import ServedService, ServingVersion, load_serving_version
from liveops.store import Store, open_store

__all__ = ["BATCH_ARM", "Scorer", "ScorerSpec"]

BATCH_ARM = "batch"  # the arm of logged batch answers, beside source "batch"
OUTPUT_COLUMNS = ("row", "prediction_id", "label", "confidence", "decision", "fallback", "reason")


@dataclass(frozen=True)
class ScorerSpec:
    """What a worker needs to score chunks of one run (it opens its own store)."""

    database_url: str
    artifacts_root: str
    project_dir: str
    service: str
    number: int
    run_id: str
    log: bool
    work_dir: str
    fmt: str
    id_column: str | None
    id_type: str  # the output id column's Arrow type, as text ("string", "int64", ...)


class Scorer:
    """A loaded version ready to score chunks; ``store`` shares the caller's (else one opens)."""

    def __init__(self, spec: ScorerSpec, store: Store | None = None) -> None:
        self.spec = spec
        self._own_store = store is None
        project_dir = Path(spec.project_dir)
        self.store = store or open_store(
            spec.database_url, project_dir=project_dir, artifacts_root=Path(spec.artifacts_root)
        )
        service_spec = get_service_spec(self.store, spec.service)
        served = ServedService.build(spec.service, service_spec, "", False, spec.number)
        self.fields = service_spec.inputs
        self.text_fields = served.text_fields
        self.segment_fields = served.segment_fields
        self.version = _loaded(self.store, spec.service, spec.number, project_dir)
        self.fallback: ServingVersion | None = None
        target = self.version.settings.fallback_version
        if target is not None:
            svc, _, n = target.partition("@")
            self.fallback = _loaded(self.store, svc, int(n), project_dir)
        self.classes = tuple(self.version.model.classes)
        self.log = (
            DirectLog(self.store, {spec.service: service_spec.logging_settings()})
            if spec.log
            else None
        )
        self.schema = output_schema(spec.id_column, pa.type_for_alias(spec.id_type), self.classes)

    def close(self) -> None:
        if self._own_store:
            self.store.close()

    def score(self, index: int, first_row: int, table: pa.Table) -> dict[str, Any]:
        """Score chunk ``index`` (its rows start at ``first_row``), log it, write its part;
        returns the chunk's counts (also kept in the part).

        Python's cycle collector is paused meanwhile: a chunk makes hundreds of thousands of
        short-lived objects (records, columns) that hold no cycles, and each full collection
        walked all of them again (measured: about a tenth of a logged chunk's time). It runs
        as usual between chunks."""
        with _collector_paused():
            return self._score(index, first_row, table)

    def _score(self, index: int, first_row: int, table: pa.Table) -> dict[str, Any]:
        t0 = time.perf_counter()
        n = table.num_rows
        records, ids, bad = records_of(table, self.fields, self.spec.fmt, self.spec.id_column)
        valid: list[int] = []
        rejects: list[dict[str, Any]] = []
        sure = surely_valid(table, self.fields, self.spec.fmt)  # most rows: no per-row check
        for i, record in enumerate(records):
            why = bad.get(i)
            if why is None and sure is not None and sure[i]:
                valid.append(i)
                continue
            problems = (
                [why]
                if why
                else [_problem(p.loc, p.msg) for p in check_instance(record, self.fields, ())]
            )
            if problems:
                rejects.append(
                    {"row": first_row + i, "id": ids[i], "reason": "; ".join(problems)}
                    | {"inputs": record}
                )
            else:
                valid.append(i)
        batch = [records[i] for i in valid]
        scan = _Scan.of(batch, self) if batch else None
        decided, out = self._decide(batch, index, first_row, scan) if batch else (None, None)
        pids = batch_prediction_ids(self.spec.run_id, first_row, n) if n else []
        now = time.time()
        columns = self._columns(valid, ids, pids, first_row, decided, out)
        logged = 0
        if self.log is not None and decided is not None and out is not None and scan is not None:
            per_row_ms = (time.perf_counter() - t0) * 1000.0 / max(1, len(valid))
            logged = self.log.store_columns(
                self._log_columns(valid, scan, pids, decided, out, now, per_row_ms)
            )
        counts = {d: 0 for d in ("automatic", "human_review", "fallback", "abstain")}
        if decided is not None:
            counts.update(decided.counts())
        stats = {
            "chunk": index,
            "rows": n,
            "scored": len(valid),
            "rejected": len(rejects),
            "logged": logged,
            "decisions": counts,
            "seconds": time.perf_counter() - t0,
        }
        out_table = pa.Table.from_pydict(columns, schema=self.schema)
        parts.write_part(Path(self.spec.work_dir), index, out_table, rejects, stats)
        return stats

    def _decide(
        self, batch: list[dict[str, Any]], index: int, first_row: int, scan: _Scan | None
    ) -> tuple[DecidedBatch, BatchOutput]:
        v = self.version
        try:
            out = v.model.predict_batch(batch)
            if len(out) != len(batch):
                raise ValueError(f"answered {len(out)} labels for {len(batch)} records")
        except Exception as exc:
            last = first_row + len(batch) - 1
            raise ModelError(
                f"{v.ref}'s model failed on chunk {index} (rows {first_row} to about {last}): "
                f"{type(exc).__name__}: {exc}",
                hint="fix the model or the rows, then rerun with --resume: finished chunks "
                "are kept",
            ) from exc
        decided = decide(
            batch,
            out,
            v.settings,
            rules=v.rules,
            text_fields=self.text_fields,
            sensitive=None if scan is None else scan.kinds,
        )
        if decided.needs_fallback_version:
            decided = decided.resolve_fallback(self._fallback_labels(batch, decided))
        return decided, out

    def _fallback_labels(self, batch: list[dict[str, Any]], decided: DecidedBatch) -> list[Any]:
        """The fallback version's labels, None each when it cannot answer (the decision then
        holds those rows for review, as the gateway does)."""
        n = len(decided.needs_fallback_version)
        fb = self.fallback
        if fb is None or fb.load_error is not None:
            return [None] * n
        try:
            out = fb.model.predict_batch([batch[i] for i in decided.needs_fallback_version])
        except Exception:  # the gateway's answer too: held for review, reason fallback_no_answer
            return [None] * n
        return list(out.labels)

    def _columns(
        self,
        valid: list[int],
        ids: list[Any],
        pids: list[str],
        first_row: int,
        decided: DecidedBatch | None,
        out: BatchOutput | None,
    ) -> dict[str, list[Any]]:
        cols: dict[str, list[Any]] = {}
        if self.spec.id_column is not None:
            cols[self.spec.id_column] = [ids[i] for i in valid]
        cols["row"] = [first_row + i for i in valid]
        cols["prediction_id"] = [pids[i] for i in valid]
        m = len(valid)
        if decided is None or out is None:
            for name in (*OUTPUT_COLUMNS[2:], *(f"score.{c}" for c in self.classes)):
                cols[name] = []
            return cols
        has_scores = out.scores is not None and bool(out.classes)
        cols["label"] = list(decided.labels)
        cols["confidence"] = out.confidence().tolist() if has_scores else [None] * m
        cols["decision"] = list(decided.decisions)
        settings = self.version.settings
        cols["fallback"] = [settings.fallback if u else None for u in decided.fallback_used]
        cols["reason"] = list(decided.reasons)
        for j, c in enumerate(self.classes):
            if has_scores and out.scores is not None and c in out.classes:
                k = out.classes.index(c) if out.classes != self.classes else j
                cols[f"score.{c}"] = out.scores[:, k].tolist()
            else:
                cols[f"score.{c}"] = [None] * m
        return cols

    def _log_columns(
        self,
        valid: list[int],
        scan: _Scan,
        pids: list[str],
        decided: DecidedBatch,
        out: BatchOutput,
        now: float,
        per_row_ms: float,
    ) -> RecordColumns:
        """The chunk's answers for the log, column-wise (no record object per answer)."""
        has_scores = out.scores is not None and bool(out.classes)
        v = self.version
        m = len(valid)
        inputs = {f: col for f, col in scan.inputs.items() if col.count(ABSENT) < m}
        segments: dict[str, list[str | None]] = {}
        for f in self.segment_fields:
            col = inputs.get(f)
            segments[f] = (
                [None] * m
                if col is None
                else [None if x is None or x is ABSENT else str(x) for x in col]
            )
        settings_fallback = v.settings.fallback
        return RecordColumns(
            service=self.spec.service,
            version=v.number,
            arm=BATCH_ARM,
            source="batch",
            ts=now,
            latency_ms=per_row_ms,
            prediction_ids=[pids[i] for i in valid],
            inputs=inputs,
            labels=decided.labels,
            decisions=decided.decisions,
            reasons=decided.reasons,
            fallbacks=[settings_fallback if u else None for u in decided.fallback_used],
            # Python floats once per chunk (a numpy row read value by value costs more).
            confidence=out.confidence().tolist() if has_scores else None,
            classes=tuple(out.classes),
            scores=out.scores.tolist() if has_scores and out.scores is not None else None,
            cost=v.cost if out.cost is None else [float(c) for c in out.cost],
            tokens_in=None if out.tokens_in is None else [int(t) for t in out.tokens_in],
            tokens_out=None if out.tokens_out is None else [int(t) for t in out.tokens_out],
            segments=segments,
            findings=scan.findings,
        )


@dataclass(frozen=True)
class _Scan:
    """A chunk's valid records column by column, and what the built-in sensitive-data
    detectors found in its text fields: found once, used by the decision layer (its
    sensitive-input rule) and by the log (its redaction)."""

    inputs: dict[str, list[Any]]  # ABSENT where a record lacks the field (JSONL)
    findings: dict[str, dict[int, list[Finding]]]  # text field -> row -> findings
    kinds: dict[int, str]  # row -> the kinds found in its text fields

    @staticmethod
    def of(batch: list[dict[str, Any]], scorer: Scorer) -> _Scan | None:
        settings = scorer.version.settings
        if scorer.log is None and settings.sensitive_input == "allow":
            return None  # nobody needs the columns or the findings
        names = [f for f in scorer.fields if scorer.log is not None or f in scorer.text_fields]
        inputs = {f: [r.get(f, ABSENT) for r in batch] for f in names}
        findings = {f: find_sensitive_column(inputs[f]) for f in scorer.text_fields if f in inputs}
        return _Scan(inputs, findings, sensitive_kinds(findings.values()))


@contextmanager
def _collector_paused() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _loaded(store: Store, service: str, number: int, project_dir: Path) -> ServingVersion:
    version = load_serving_version(store, service, number, project_dir=project_dir)
    if version.load_error is not None:
        raise ModelUnavailableError(
            f"{version.ref} cannot score: {version.load_error}",
            hint="fix the version (or score with another: SERVICE@N)",
        )
    return version


def _problem(loc: tuple[str | int, ...], msg: str) -> str:
    where = ".".join(str(p) for p in loc)
    return f"{where}: {msg}" if where else msg


def output_schema(id_column: str | None, id_type: pa.DataType, classes: Sequence[str]) -> pa.Schema:
    """The columns of every part and of the output file, in order."""
    fields = [pa.field(id_column, id_type)] if id_column is not None else []
    fields += [
        pa.field("row", pa.int64()),
        pa.field("prediction_id", pa.string()),
        pa.field("label", pa.string()),
        pa.field("confidence", pa.float64()),
        pa.field("decision", pa.string()),
        pa.field("fallback", pa.string()),
        pa.field("reason", pa.string()),
    ]
    fields += [pa.field(f"score.{c}", pa.float64()) for c in classes]
    return pa.schema(fields)
