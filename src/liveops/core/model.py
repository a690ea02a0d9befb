"""The model interface: inputs in; a label, per-label scores, cost and token counts out.

It is deliberately not scikit-learn shaped, so that a prompt sent to an LLM fits it as well as
a fitted pipeline: a model answers a *batch* of input records (dicts of field values) with a
:class:`BatchOutput`. Scores are optional (an LLM may give only a label); cost and token counts
are optional (a local model costs nothing per call).

>>> import numpy as np
>>> out = BatchOutput(labels=["billing"], classes=("billing", "general"),
...                   scores=np.array([[0.9, 0.1]]))
>>> out.confidence().tolist()
[0.9]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Record = Mapping[str, Any]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BatchOutput:
    """What a model answered for a batch of n records."""

    labels: list[str]
    classes: tuple[str, ...] = ()
    scores: FloatArray | None = None  # shape (n, len(classes)); rows sum to 1 for classifiers
    cost: FloatArray | None = None  # per record, in the service's currency unit
    tokens_in: npt.NDArray[np.int64] | None = None
    tokens_out: npt.NDArray[np.int64] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def confidence(self) -> FloatArray:
        """The score of the predicted label per record (1.0 where the model gives no scores)."""
        n = len(self.labels)
        if self.scores is None or not self.classes:
            return np.ones(n, dtype=np.float64)
        index = {c: i for i, c in enumerate(self.classes)}
        cols = np.fromiter((index.get(lbl, -1) for lbl in self.labels), dtype=np.int64, count=n)
        conf = np.zeros(n, dtype=np.float64)
        ok = cols >= 0
        conf[ok] = self.scores[np.nonzero(ok)[0], cols[ok]]
        return conf

    def scores_of(self, i: int) -> dict[str, float]:
        """Per-label scores of record i as a dict (empty without scores)."""
        if self.scores is None:
            return {}
        return {c: float(s) for c, s in zip(self.classes, self.scores[i], strict=True)}

    def take(self, idx: Sequence[int]) -> BatchOutput:
        """The rows ``idx`` of this output, in that order."""
        sel = np.asarray(idx, dtype=np.int64)

        def pick(a: Any) -> Any:
            return None if a is None else a[sel]

        return BatchOutput(
            labels=[self.labels[i] for i in idx],
            classes=self.classes,
            scores=pick(self.scores),
            cost=pick(self.cost),
            tokens_in=pick(self.tokens_in),
            tokens_out=pick(self.tokens_out),
        )


@runtime_checkable
class Model(Protocol):
    """Anything that answers a batch of records. ``classes`` may be empty when unknown."""

    @property
    def classes(self) -> tuple[str, ...]: ...

    def predict_batch(self, records: Sequence[Record]) -> BatchOutput: ...
