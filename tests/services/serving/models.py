"""Entry-point models for the serving domain tests: the gateway tests' keyword model, and one
whose every call raises (a version that loads but cannot answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.server.models import KeywordModel, rules

__all__ = ["broken", "good", "rules"]


class BrokenModel:
    classes = ("billing", "technical")

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if any(r.get("text") == "warm up" for r in records):
            return [{"label": "billing"} for _ in records]  # passes the gateway's warm-up
        raise RuntimeError("the fallback model is broken")


def good() -> KeywordModel:
    return KeywordModel(0.9)


def broken() -> BrokenModel:
    return BrokenModel()
