"""Asking a model about many records for an evaluation: batched, and robust to a model that
raises on some of them (those rows become errors; the rest of the run goes on)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from liveops.core.model import BatchOutput, Model
from liveops.core.serving.decision import DecisionSettings, RulesFunction, decide
from liveops.errors import ModelError

__all__ = ["BATCH", "Answers", "FloatArray", "Tick", "decisions", "latencies", "predict"]

FloatArray = npt.NDArray[np.float64]
BATCH = 1024
Tick = Callable[[int], None]


@dataclass(frozen=True)
class Answers:
    """What a model answered for n records; rows with ``errors[i]`` set have no answer."""

    labels: list[str | None]
    classes: tuple[str, ...]
    scores: FloatArray | None  # (n, len(classes)); NaN rows on errors
    cost: FloatArray
    errors: list[str | None]

    def __len__(self) -> int:
        return len(self.labels)

    def confidence(self) -> FloatArray:
        """The top label's score per row (NaN without scores and on errors)."""
        if self.scores is None:
            return np.full(len(self), np.nan)
        with np.errstate(invalid="ignore"):
            return np.asarray(np.max(self.scores, axis=1), dtype=np.float64)

    def score_of(self, labels: Sequence[str]) -> FloatArray:
        """The score each row gives to ``labels[i]``: 0 for a label the model does not know
        (it cannot answer it), NaN without scores and on errors."""
        out = np.full(len(self), np.nan)
        if self.scores is None:
            return out
        index = {c: i for i, c in enumerate(self.classes)}
        for i, lbl in enumerate(labels):
            j = index.get(lbl)
            if j is not None:
                out[i] = self.scores[i, j]
            elif np.isfinite(self.scores[i]).any():
                out[i] = 0.0
        return out


def predict(
    model: Model,
    records: Sequence[Mapping[str, Any]],
    *,
    tick: Tick | None = None,
    cost: float | None = None,
) -> Answers:
    """Predict in batches of :data:`BATCH`; a failed batch is retried one row at a time.
    ``cost``: what one answer costs when the model reports none (the version's
    ``cost.per_1k`` / 1000)."""
    n = len(records)
    classes = tuple(model.classes)
    labels: list[str | None] = [None] * n
    errors: list[str | None] = [None] * n
    costs = np.full(n, cost or 0.0)
    scores: FloatArray | None = None
    for start in range(0, n, BATCH):
        chunk = records[start : start + BATCH]
        try:
            outs: list[tuple[int, BatchOutput]] = [(start, _call(model, chunk))]
        except Exception:
            outs = []
            for j, rec in enumerate(chunk):
                try:
                    outs.append((start + j, _call(model, [rec])))
                except Exception as exc:
                    errors[start + j] = f"{type(exc).__name__}: {exc}"[:500]
        for at, out in outs:
            if not classes and out.classes:
                classes = out.classes
            if out.scores is not None and out.classes == classes:
                if scores is None:
                    scores = np.full((n, len(classes)), np.nan)
                scores[at : at + len(out)] = out.scores
            labels[at : at + len(out)] = out.labels
            if out.cost is not None:
                costs[at : at + len(out)] = out.cost
        if tick is not None:
            tick(len(chunk))
    return Answers(labels, classes, scores, costs, errors)


def _call(model: Model, records: Sequence[Mapping[str, Any]]) -> BatchOutput:
    out = model.predict_batch(records)
    if len(out) != len(records):
        raise ModelError(f"the model answered {len(out)} labels for {len(records)} records")
    return out


def decisions(
    answers: Answers,
    records: Sequence[Mapping[str, Any]],
    settings: DecisionSettings,
    *,
    rules: RulesFunction | None,
    text_field: str | None,
) -> list[str]:
    """The decision layer applied to every answered row; ``error`` where the model failed."""
    ok = [i for i, e in enumerate(answers.errors) if e is None]
    out = ["error"] * len(answers)
    if not ok:
        return out
    sel = np.asarray(ok, dtype=np.int64)
    batch = BatchOutput(
        labels=[str(answers.labels[i]) for i in ok],
        classes=answers.classes if answers.scores is not None else (),
        scores=None if answers.scores is None else answers.scores[sel],
    )
    decided = decide(
        [records[i] for i in ok],
        batch,
        settings,
        rules=rules,
        text_fields=[text_field] if text_field else [],
    )
    for i, d in zip(ok, decided.decisions, strict=True):
        out[i] = d
    return out


def latencies(model: Model, records: Sequence[Mapping[str, Any]], calls: int) -> FloatArray:
    """Milliseconds of ``calls`` single-record calls, cycling through ``records``."""
    out = np.zeros(calls)
    if not records:
        return out[:0]
    for i in range(calls):
        rec = records[i % len(records)]
        t0 = time.perf_counter()
        # A failure is counted with the cases; time it all the same.
        with contextlib.suppress(Exception):
            model.predict_batch([rec])
        out[i] = (time.perf_counter() - t0) * 1000.0
    return out
