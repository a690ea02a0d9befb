"""Slices made from a reference: ``slice_by: [color, carat]`` in a suite.

A category column gives one slice per value among the reference's most frequent ones
(``color=E``) plus ``color=other`` for every other value (a missing one included); a number
column gives the quartile bins of the reference (``carat in [0.4, 0.7)``). Each slice is an
ordinary :class:`~liveops.core.evaluation.suite.SliceSpec` (a name and a ``where`` filter), so
hand-written ``slices`` and these are evaluated by the same code, and gates may name them.

The definitions depend on the reference only, never on the cases being evaluated, so they are
computed once, stored with the evaluation run and reused by later runs (a bin that moved with
every new dataset could not be compared from one run to the next). Bin edges are rounded to
four significant digits, and the rounded edge is both the name and the filter: what a slice's
name says is exactly what it holds.

>>> from liveops.core.profile import profile_columns
>>> p = profile_columns({"carat": [0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 0.4],
...                      "color": ["E", "E", "F", "G", "E", "F", "H", "E"]})
>>> [s.name for s in slices_from_profile(p, ["color", "carat"], top=2)]
['color=E', 'color=F', 'color=other', 'carat in [0.2, 0.375)', 'carat in [0.375, 0.6)', \
'carat in [0.6, 1.125)', 'carat in [1.125, 2]']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from liveops.core.evaluation.suite import Predicate, SliceSpec
from liveops.errors import InvalidInputError

__all__ = ["OTHER", "TOP_VALUES", "slices_from_profile"]

TOP_VALUES = 10
OTHER = "other"


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def _fmt(x: float) -> str:
    return f"{x:g}"


def slices_from_profile(
    profile: Mapping[str, Any], columns: Sequence[str], *, top: int = TOP_VALUES
) -> list[SliceSpec]:
    """The slices of ``columns`` from a dataset profile (see :mod:`liveops.core.profile`).

    A column the reference lacks, or one of a kind that cannot be sliced (free text, lists),
    is an :class:`InvalidInputError` naming it.
    """
    cols = profile.get("columns", {})
    out: list[SliceSpec] = []
    for name in columns:
        col = cols.get(name)
        if col is None:
            have = ", ".join(sorted(cols)) or "none"
            raise InvalidInputError(
                f"slice_by names column {name!r}, which the reference does not have "
                f"(its columns: {have})",
                hint="fix slice_by in the suite file, or use a reference with this column",
            )
        kind = col.get("kind")
        if kind in ("category", "boolean"):
            out += _categories(name, col, top, boolean=kind == "boolean")
        elif kind == "number" and "quantiles" in col:
            out += _bins(name, col)
        else:
            raise InvalidInputError(
                f"slice_by column {name!r} is {kind} in the reference; slice_by cuts number, "
                "category and boolean columns",
                hint=f"write a slice with a where filter for {name!r} instead",
            )
    return out


def _slice(name: str, where: dict[str, Any]) -> SliceSpec:
    return SliceSpec(name=name, where=Predicate.model_validate(where))


def _categories(name: str, col: Mapping[str, Any], top: int, *, boolean: bool) -> list[SliceSpec]:
    values = [v for v in col.get("frequencies", {}) if v != "__other__"][:top]
    out: list[SliceSpec] = []
    kept: list[Any] = []
    for v in values:
        # The profile stores booleans as "true"/"false"; records hold real booleans.
        value: Any = (v == "true") if boolean else v
        kept.append(value)
        out.append(_slice(f"{name}={v}", {name: {"eq": value}}))
    if not boolean:
        out.append(_slice(f"{name}={OTHER}", {name: {"not_in": kept}}))
    return out


def _bins(name: str, col: Mapping[str, Any]) -> list[SliceSpec]:
    q = col["quantiles"]
    low, high = _round(float(col["min"])), _round(float(col["max"]))
    edges = sorted({_round(float(q[k])) for k in ("0.25", "0.5", "0.75")})
    out: list[SliceSpec] = []
    # Below the first quartile (values under the reference minimum included, so later data
    # always falls in a bin); skipped when the reference has nothing there.
    if low < edges[0]:
        out.append(_slice(f"{name} in [{_fmt(low)}, {_fmt(edges[0])})", {name: {"lt": edges[0]}}))
    for a, b in pairwise(edges):
        out.append(_slice(f"{name} in [{_fmt(a)}, {_fmt(b)})", {name: {"ge": a, "lt": b}}))
    last = edges[-1]
    out.append(_slice(f"{name} in [{_fmt(last)}, {_fmt(max(high, last))}]", {name: {"ge": last}}))
    return out
