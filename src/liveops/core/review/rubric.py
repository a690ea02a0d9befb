"""The review rubric: what a human reviewer answers about each sampled case.

A suite declares it under ``review: rubric:``; each item has a ``scale`` (ordered answers such as
``[yes, no]`` or ``[1, 2, 3, 4, 5]``) or ``choices`` (unordered labels). Answers are stored as
text. YAML 1.1 reads a bare ``yes``/``no`` as a boolean, so booleans in a scale are read back as
``yes``/``no``: the answer a reviewer types is the word written in the suite.

>>> rubric = parse_rubric([
...     {"name": "correct_route", "scale": [True, False]},
...     {"name": "failure_type", "choices": ["wrong_team", "language", "other"]},
... ])
>>> rubric.names
('correct_route', 'failure_type')
>>> rubric.item("correct_route").values
('yes', 'no')
>>> rubric.check_scores({"correct_route": "Yes", "failure_type": "language"})
{'correct_route': 'yes', 'failure_type': 'language'}
>>> try:
...     rubric.check_scores({"correct_route": "maybe"})
... except InvalidInputError as exc:
...     print(exc.message)
'maybe' is not an answer to rubric item 'correct_route' (answers: yes, no)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from liveops.core.names import NAME_RE
from liveops.errors import InvalidInputError

__all__ = ["Rubric", "RubricItem", "parse_rubric"]

RubricKind = Literal["scale", "choices"]


def _answer_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class RubricItem:
    """One question of the rubric and its allowed answers (in the order the suite gives)."""

    name: str
    kind: RubricKind
    values: tuple[str, ...]

    def check(self, answer: Any) -> str:
        """The canonical answer for ``answer`` (matched without regard to case), or an error."""
        text = _answer_text(answer)
        for value in self.values:
            if value == text or value.casefold() == text.casefold():
                return value
        raise InvalidInputError(
            f"{text!r} is not an answer to rubric item {self.name!r} "
            f"(answers: {', '.join(self.values)})",
            hint=f"use one of: {', '.join(self.values)}",
            rubric_item=self.name,
            value=text,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, self.kind: list(self.values)}


@dataclass(frozen=True)
class Rubric:
    """The rubric items of a review, in order."""

    items: tuple[RubricItem, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items)

    def item(self, name: str) -> RubricItem:
        """The item called ``name``; an unknown name is an error that lists the known ones."""
        for item in self.items:
            if item.name == name:
                return item
        raise InvalidInputError(
            f"the rubric has no item {name!r} (items: {', '.join(self.names) or 'none'})",
            hint="score the items the suite's review rubric declares",
            rubric_item=name,
        )

    def check_scores(self, scores: Mapping[str, Any]) -> dict[str, str]:
        """Validate a reviewer's answers: known items, allowed values, at least one answer."""
        if not scores:
            raise InvalidInputError(
                "no scores given",
                hint=f"answer at least one rubric item: {', '.join(self.names)}",
            )
        return {name: self.item(name).check(value) for name, value in scores.items()}

    def to_list(self) -> list[dict[str, Any]]:
        return [i.to_dict() for i in self.items]


def parse_rubric(items: Any) -> Rubric:
    """Build a :class:`Rubric` from the suite's ``review: rubric:`` list (or a stored copy)."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes) or not items:
        raise InvalidInputError(
            "a review rubric is a non-empty list of items",
            hint="write review: {rubric: [{name: correct_route, scale: [yes, no]}]}",
        )
    parsed: list[RubricItem] = []
    for i, raw in enumerate(items):
        where = f"review.rubric.{i}"
        if not isinstance(raw, Mapping):
            raise InvalidInputError(f"{where}: expected a mapping with 'name' and 'scale'")
        unknown = sorted(set(raw) - {"name", "scale", "choices"})
        if unknown:
            raise InvalidInputError(f"{where}: unknown field {unknown[0]!r} (a typo?)")
        name = raw.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInputError(
                f"{where}.name: {name!r} is not a valid rubric item name",
                hint="use lower-case letters, digits, '-', '_' and '.'",
            )
        kinds = [k for k in ("scale", "choices") if k in raw]
        if len(kinds) != 1:
            raise InvalidInputError(
                f"{where}: rubric item {name!r} needs exactly one of 'scale' or 'choices'"
            )
        kind: RubricKind = "scale" if kinds[0] == "scale" else "choices"
        values = raw[kind]
        if not isinstance(values, Sequence) or isinstance(values, str) or len(values) < 2:
            raise InvalidInputError(f"{where}.{kind}: give at least two answers as a list")
        answers = tuple(_answer_text(v) for v in values)
        if len({a.casefold() for a in answers}) != len(answers) or not all(answers):
            raise InvalidInputError(f"{where}.{kind}: answers must be distinct and non-empty")
        if name in {p.name for p in parsed}:
            raise InvalidInputError(f"{where}.name: rubric item {name!r} is declared twice")
        parsed.append(RubricItem(name=name, kind=kind, values=answers))
    return Rubric(tuple(parsed))
