"""What an answer costs when the model does not say: the version's ``cost.per_1k`` setting.

A model may report a cost per record (an LLM client from its token counts); a local model
reports none. A version can then carry its price in its config, registered with
``liveops versions register ... -c cost.per_1k=0.40`` (the cost of 1,000 answers, in the
service's currency unit). The gateway, batch scoring and offline evaluation all fill an answer's
cost from it when the model reported none, so the monitor's ``cost.*`` metrics, an evaluation's
``cost.per_1k`` gate and a rollout's cost gate read the same number.

>>> per_answer({"decision": {}, "cost.per_1k": 0.4})
0.0004
>>> per_answer({"decision": {}}) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from liveops.errors import InvalidInputError

__all__ = ["COST_KEY", "per_answer"]

COST_KEY = "cost.per_1k"


def per_answer(config: Mapping[str, Any]) -> float | None:
    """The cost of one answer from a version's config; None when it sets none.

    >>> try:
    ...     per_answer({"cost.per_1k": -1})
    ... except InvalidInputError as exc:
    ...     print(exc.message)
    cost.per_1k must be a number of 0 or more, got -1
    """
    value = config.get(COST_KEY)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidInputError(
            f"{COST_KEY} must be a number of 0 or more, got {value!r}",
            hint="the cost of 1,000 answers in the service's currency, e.g. -c cost.per_1k=0.40",
        )
    return float(value) / 1000.0
