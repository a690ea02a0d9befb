"""What a version promises its service: its labels and its features.

A model's classes, read as strings and translated by the version's ``output.label_map`` when
it has one, must each be one of the service's ``output.labels``. A model fitted on a DataFrame
(it has ``feature_names_in_``) must have been fitted on exactly the service's ``model_inputs``;
the order does not matter, because the model is given its columns in its own order.

>>> check = LabelCheck.of(["0", "1"], ["benign", "malignant"], None)
>>> check.ok, check.unknown
(False, ['0', '1'])
>>> check = LabelCheck.of(["0", "1"], ["benign", "malignant"], {"0": "benign", "1": "malignant"})
>>> check.ok, check.mapped
(True, ('benign', 'malignant'))
>>> feature_problems(["radius", "texture"], ["radius", "area"])
['the model was fitted on texture, which model_inputs does not list', \
'model_inputs lists area, which the model was not fitted on']
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from liveops.errors import InvalidInputError, UsageError

__all__ = [
    "LABEL_MAP_KEY",
    "LabelCheck",
    "feature_problems",
    "label_map_of",
    "parse_label_map",
]

LABEL_MAP_KEY = "output.label_map"
_EXAMPLE = """--config output.label_map='{"0": "benign", "1": "malignant"}'"""


def parse_label_map(value: Any) -> dict[str, str]:
    """A label map given on the command line or in a config: a mapping of the model's class to
    a service label. Keys and values are read as strings (YAML reads ``{0: benign}`` with an
    integer key; it means the class ``"0"``). A string is read as JSON.

    >>> parse_label_map({0: "benign", 1: "malignant"})
    {'0': 'benign', '1': 'malignant'}
    >>> parse_label_map('{"0": "benign"}')
    {'0': 'benign'}
    """
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if not isinstance(value, Mapping) or not value:
        raise UsageError(
            f"{LABEL_MAP_KEY} must map each of the model's classes to a service label, "
            f"got {value!r}"[:300],
            hint=f"e.g. {_EXAMPLE}",
        )
    out: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, Mapping | list) or v is None or isinstance(k, Mapping | list):
            raise UsageError(
                f"{LABEL_MAP_KEY}: {k!r} -> {v!r} is not class -> label", hint=f"e.g. {_EXAMPLE}"
            )
        out[_as_label(k)] = _as_label(v)
    return dict(sorted(out.items()))


def label_map_of(config: Mapping[str, Any]) -> dict[str, str] | None:
    """The label map stored in a version's config, if any."""
    raw = config.get(LABEL_MAP_KEY)
    return None if raw is None else {str(k): str(v) for k, v in dict(raw).items()}


def _as_label(value: Any) -> str:
    # YAML reads 1.0 as a float and true as a bool; the model's classes_ print as 1.0 / True.
    return str(value)


@dataclass(frozen=True)
class LabelCheck:
    """A model's classes (as strings) against a service's labels, through an optional map."""

    classes: tuple[str, ...]
    labels: tuple[str, ...]
    label_map: dict[str, str] | None
    mapped: tuple[str, ...]
    unknown: list[str] = field(default_factory=list)  # classes (mapped) that are not labels
    unmapped: list[str] = field(default_factory=list)  # classes the map leaves out
    stray: list[str] = field(default_factory=list)  # map keys that are not classes
    merged: list[str] = field(default_factory=list)  # labels two classes map onto
    unreachable: list[str] = field(default_factory=list)  # labels no class gives (a warning)

    @classmethod
    def of(
        cls, classes: Sequence[Any], labels: Sequence[str], label_map: Mapping[str, str] | None
    ) -> LabelCheck:
        raw = tuple(str(c) for c in classes)
        lmap = dict(label_map) if label_map is not None else None
        if lmap is None:
            mapped, unmapped, stray = raw, [], []
        else:
            mapped = tuple(lmap.get(c, c) for c in raw)
            unmapped = [c for c in raw if c not in lmap]
            stray = [k for k in lmap if k not in raw]
        known = set(labels)
        seen: dict[str, int] = {}
        for m in mapped:
            seen[m] = seen.get(m, 0) + 1
        return cls(
            classes=raw,
            labels=tuple(labels),
            label_map=lmap,
            mapped=mapped,
            unknown=[c for c, m in zip(raw, mapped, strict=True) if m not in known],
            unmapped=unmapped,
            stray=stray,
            merged=sorted(m for m, n in seen.items() if n > 1),
            unreachable=[lbl for lbl in labels if lbl not in set(mapped)],
        )

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.unmapped or self.stray or self.merged)

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.label_map is None:
            if self.unknown:
                out.append(f"classes that are not service labels: {', '.join(self.unknown)}")
            return out
        if self.unmapped:
            out.append(f"{LABEL_MAP_KEY} does not map the classes {', '.join(self.unmapped)}")
        lmap, known = self.label_map, set(self.labels)
        bad = [f"{c} -> {lmap[c]}" for c in self.classes if c in lmap and lmap[c] not in known]
        if bad:
            out.append(
                f"{LABEL_MAP_KEY} maps onto labels the service does not have: {', '.join(bad)}"
            )
        if self.stray:
            out.append(
                f"{LABEL_MAP_KEY} names classes the model does not have: {', '.join(self.stray)}"
            )
        if self.merged:
            out.append(f"{LABEL_MAP_KEY} maps several classes onto {', '.join(self.merged)}")
        return out

    def raise_if_bad(self, what: str, service: str, *, routing: bool = False) -> None:
        """Raise :class:`InvalidInputError` naming the classes, the labels and the next step."""
        if self.ok:
            return
        shown = ", ".join(self.classes)
        if self.label_map is not None:
            shown += " (mapped: " + ", ".join(self.mapped) + ")"
        lead = (
            f"{what} cannot serve {service}: it does not match"
            if routing
            else f"{what} does not match"
        )
        raise InvalidInputError(
            f"{lead} {service}'s labels: the model's classes are {shown}; the service's "
            f"labels are {', '.join(self.labels)}; " + "; ".join(self.problems()),
            hint=(
                "the service's labels changed since this version was registered: register a "
                "version for the new labels or restore them (liveops service apply)"
                if routing
                else "retrain the model on the service's labels, or translate its classes "
                f"with {_suggest(self.classes, self.labels)}"
            ),
        )

    def warnings(self, what: str) -> list[str]:
        if not self.unreachable or not self.ok:
            return []
        return [
            f"{what} never answers the labels {', '.join(self.unreachable)} "
            "(the model has no class for them)"
        ]


def _suggest(classes: Sequence[str], labels: Sequence[str]) -> str:
    if len(classes) == len(labels):
        pairs = dict(zip(classes, labels, strict=True))
        return f"--config {LABEL_MAP_KEY}='{json.dumps(pairs)}' (check the pairs)"
    return _EXAMPLE


def feature_problems(feature_names: Sequence[Any], model_inputs: Sequence[str]) -> list[str]:
    """How a model's ``feature_names_in_`` differ from the service's ``model_inputs``
    (order aside: the model is given its columns in its own order)."""
    names = [str(n) for n in feature_names]
    missing = [n for n in names if n not in model_inputs]
    extra = [n for n in model_inputs if n not in names]
    out: list[str] = []
    if missing:
        out.append(
            f"the model was fitted on {', '.join(missing)}, which model_inputs does not list"
        )
    if extra:
        out.append(f"model_inputs lists {', '.join(extra)}, which the model was not fitted on")
    return out
