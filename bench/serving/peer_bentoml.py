"""The BentoML peer: the demo's v1 model behind a BentoML service with adaptive batching.

Served by the harness as ``bentoml serve peer_bentoml:SupportRouter`` from this folder, in the
``bench/.venvs/bentoml`` venv, with ``BENCH_MODEL_PATH`` naming the skops file. One worker;
``batchable=True`` lets BentoML merge concurrent requests into one ``predict_proba`` call.
Request: ``POST /predict`` with ``{"texts": ["..."]}``; answer: one dict per text with the
label, confidence, scores, version and decision (the fields liveops returns, minus logging).
Access logging is off, as on every server in the benchmark.
"""

from __future__ import annotations

import os
from typing import Any

import bentoml
import numpy as np

THRESHOLD = 0.70


# No access log line per request, like every other server in the benchmark.
@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class SupportRouter:
    def __init__(self) -> None:
        import skops.io as sio

        self.model = sio.load(os.environ["BENCH_MODEL_PATH"], trusted=[])
        self.classes = [str(c) for c in self.model.classes_]

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=100)
    def predict(self, texts: list[str]) -> list[dict[str, Any]]:
        out = []
        for row in self.model.predict_proba(texts):
            i = int(np.argmax(row))
            confidence = float(row[i])
            out.append(
                {
                    "label": self.classes[i],
                    "confidence": confidence,
                    "scores": {c: float(s) for c, s in zip(self.classes, row, strict=True)},
                    "version": 1,
                    "decision": "automatic" if confidence >= THRESHOLD else "human_review",
                    "fallback": None,
                }
            )
        return out
