"""Perturbations for numbers and categories: the data errors a tabular model meets in production.

A text model is tested with typos and casing; a model on numeric and categorical columns is
tested with what goes wrong in a data pipeline: a little measurement noise, a value that did
not arrive, a value outside anything seen in training, a unit mistake (cents for euros, cm for
m) and a category the model never saw. Each family knows a column's kind and scale from the
*reference* (the service's training or reference dataset profile, see
:mod:`liveops.core.profile`), so noise is scaled to the column's spread and "out of range"
means outside the reference.

Families (and what they do to one record):

- ``numeric_noise``: every numeric column gets Gaussian noise with a standard deviation of
  ``NOISE_SCALE`` (0.1) times the column's reference spread (IQR; the standard deviation when
  the IQR is 0). Label-preserving by design: a model should not flip on it.
- ``missing_value``: one optional column (chosen at random) becomes missing (``None``).
- ``out_of_range``: one numeric column goes beyond the reference range, by 10 to 50 % of the
  range, above the maximum or below the minimum.
- ``unit_mistake``: one numeric column is multiplied by 100.
- ``unseen_category``: one categorical column takes a value the reference never had.

>>> import random
>>> ref = {"size": ColumnReference("size", "number", low=0.0, high=10.0, spread=4.0)}
>>> perturb_record({"size": 2.0, "label": "a"}, "unit_mistake", random.Random(0), ref)
{'size': 200.0, 'label': 'a'}
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "NOISE_SCALE",
    "TABULAR_FAMILIES",
    "ColumnReference",
    "column_references",
    "perturb_record",
    "tabular_not_applicable",
]

NOISE_SCALE = 0.1
UNIT_FACTOR = 100.0

TABULAR_FAMILIES: tuple[str, ...] = (
    "numeric_noise",
    "missing_value",
    "out_of_range",
    "unit_mistake",
    "unseen_category",
)


@dataclass(frozen=True)
class ColumnReference:
    """What the tabular families know about one model input, taken from the reference."""

    name: str
    kind: Literal["number", "category"]
    low: float = 0.0
    high: float = 0.0
    spread: float = 0.0
    categories: tuple[str, ...] = ()
    optional: bool = True


def column_references(
    profile: Mapping[str, Any], names: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, ColumnReference]:
    """The numeric and categorical columns among ``names`` in a dataset ``profile``.

    Columns the reference does not have, or of another kind (text, lists, booleans), are left
    out: no family here can change them meaningfully.

    >>> from liveops.core.profile import profile_columns
    >>> p = profile_columns({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> refs = column_references(p, ["x", "c"], optional=["c"])
    >>> refs["x"].spread, refs["c"].categories, refs["c"].optional
    (1.5, ('a', 'b'), True)
    """
    columns = profile.get("columns", {})
    out: dict[str, ColumnReference] = {}
    for name in names:
        col = columns.get(name)
        if not col:
            continue
        if col.get("kind") == "number" and "min" in col:
            q = col.get("quantiles", {})
            iqr = float(q.get("0.75", 0.0)) - float(q.get("0.25", 0.0))
            spread = iqr if iqr > 0 else float(col.get("std") or 0.0)
            out[name] = ColumnReference(
                name,
                "number",
                low=float(col["min"]),
                high=float(col["max"]),
                spread=spread,
                optional=name in optional,
            )
        elif col.get("kind") == "category":
            cats = tuple(k for k in col.get("frequencies", {}) if k != "__other__")
            out[name] = ColumnReference(
                name, "category", categories=cats, optional=name in optional
            )
    return out


def tabular_not_applicable(family: str, columns: Mapping[str, ColumnReference]) -> str | None:
    """Why ``family`` has no column to change for this model, or None when it has one.

    >>> tabular_not_applicable("unseen_category", {})
    'the model reads no categorical column'
    """
    if family == "missing_value":
        if any(c.optional for c in columns.values()):
            return None
        return "the model reads no optional numeric or categorical column"
    if family == "unseen_category":
        if any(c.kind == "category" for c in columns.values()):
            return None
        return "the model reads no categorical column"
    if any(c.kind == "number" for c in columns.values()):
        return None
    return "the model reads no numeric column"


def perturb_record(
    record: Mapping[str, Any],
    family: str,
    rng: random.Random,
    columns: Mapping[str, ColumnReference],
) -> dict[str, Any]:
    """A copy of ``record`` with ``family`` applied to the columns it concerns."""
    out = {k: list(v) if isinstance(v, list) else v for k, v in record.items()}
    _FAMILIES[family](out, rng, columns)
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _numbers(rec: Mapping[str, Any], columns: Mapping[str, ColumnReference]) -> list[str]:
    return [c.name for c in columns.values() if c.kind == "number" and _is_number(rec.get(c.name))]


def _same_type(original: Any, value: float) -> Any:
    # An integer column stays integer: a count with a fraction is another kind of error.
    return round(value) if isinstance(original, int) else value


def _noise(rec: dict[str, Any], rng: random.Random, cols: Mapping[str, ColumnReference]) -> None:
    for name in _numbers(rec, cols):
        sd = NOISE_SCALE * cols[name].spread
        if sd > 0:
            rec[name] = _same_type(rec[name], rec[name] + rng.gauss(0.0, sd))


def _missing(rec: dict[str, Any], rng: random.Random, cols: Mapping[str, ColumnReference]) -> None:
    present = [c.name for c in cols.values() if c.optional and rec.get(c.name) is not None]
    if present:
        rec[rng.choice(present)] = None


def _out_of_range(
    rec: dict[str, Any], rng: random.Random, cols: Mapping[str, ColumnReference]
) -> None:
    names = _numbers(rec, cols)
    if not names:
        return
    c = cols[rng.choice(names)]
    width = (c.high - c.low) or c.spread or 1.0
    step = width * rng.uniform(0.1, 0.5)
    value = c.high + step if rng.random() < 0.5 else c.low - step
    rec[c.name] = _same_type(rec[c.name], value)


def _unit(rec: dict[str, Any], rng: random.Random, cols: Mapping[str, ColumnReference]) -> None:
    names = _numbers(rec, cols)
    if names:
        name = rng.choice(names)
        rec[name] = rec[name] * (int(UNIT_FACTOR) if isinstance(rec[name], int) else UNIT_FACTOR)


def _unseen(rec: dict[str, Any], rng: random.Random, cols: Mapping[str, ColumnReference]) -> None:
    names = [c.name for c in cols.values() if c.kind == "category" and rec.get(c.name) is not None]
    if not names:
        return
    c = cols[rng.choice(names)]
    value, k = "unseen", 1
    while value in c.categories:
        k += 1
        value = f"unseen-{k}"
    rec[c.name] = value


_FAMILIES: dict[
    str, Callable[[dict[str, Any], random.Random, Mapping[str, ColumnReference]], None]
] = {
    "numeric_noise": _noise,
    "missing_value": _missing,
    "out_of_range": _out_of_range,
    "unit_mistake": _unit,
    "unseen_category": _unseen,
}
