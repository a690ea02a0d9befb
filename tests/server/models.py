"""Entry-point models and rules for the gateway tests (registered as ``tests.server.models:v1``).

The text decides what the model does: ``boom`` raises, ``sleep`` sleeps past the timeout,
``unsure`` answers with low confidence, ``crash`` is technical, anything else billing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any


class KeywordModel:
    classes = ("billing", "technical")

    def __init__(self, sure: float = 0.9) -> None:
        self.sure = sure

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in records:
            text = str(r.get("text") or "")
            if "boom" in text:
                raise RuntimeError("the model exploded")
            if "sleep" in text:
                time.sleep(1.5)
            if "unsure" in text:
                scores = {"billing": 0.55, "technical": 0.45}
            elif "crash" in text:
                scores = {"billing": 1 - self.sure, "technical": self.sure}
            else:
                scores = {"billing": self.sure, "technical": 1 - self.sure}
            out.append({"label": max(scores, key=scores.__getitem__), "scores": scores})
        return out


def v1() -> KeywordModel:
    return KeywordModel(0.9)


def v2() -> KeywordModel:
    return KeywordModel(0.95)


def rules(inputs: Mapping[str, Any]) -> str | None:
    text = str(inputs.get("text") or "")
    if "refund" in text:
        return "billing"
    if "crash" in text:
        return "technical"
    return None


class IncomeModel:
    """A tabular model for the privacy tests: numbers and a category decide, text is carried."""

    classes = ("approve", "review")

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in records:
            sure = 0.8 if float(r.get("income") or 0) > 40_000 and r.get("region") != "x" else 0.2
            scores = {"approve": sure, "review": 1 - sure}
            out.append({"label": max(scores, key=scores.__getitem__), "scores": scores})
        return out


def income() -> IncomeModel:
    return IncomeModel()
