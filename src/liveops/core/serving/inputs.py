"""Checking request instances against a service's declared ``inputs``.

Every problem is reported with its location, so a client can fix all of them at once:

>>> from liveops.core.project import FieldSpec
>>> fields = {"text": FieldSpec(type="string", required=True, max_length=5),
...           "channel": FieldSpec(type="enum", values=["email", "chat"])}
>>> check_instance({"text": "hi", "channel": "chat"}, fields, ("inputs",))
[]
>>> [p.to_dict() for p in check_instance({"channel": "fax", "x": 1}, fields, ("inputs",))]
... # doctest: +NORMALIZE_WHITESPACE
[{'loc': ['inputs', 'text'], 'msg': 'this field is required'},
 {'loc': ['inputs', 'channel'], 'msg': "must be one of email, chat, got 'fax'"},
 {'loc': ['inputs', 'x'], 'msg': 'unknown field (declared: text, channel)'}]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["FieldProblem", "check_instance", "input_schema"]

Loc = tuple[str | int, ...]


class FieldSpec(Protocol):
    """What the checks read of an input field (``core.project.FieldSpec`` has it); a protocol,
    so that serving does not depend on the project file's module, which knows rollouts."""

    @property
    def type(self) -> str: ...
    @property
    def required(self) -> bool: ...
    @property
    def max_length(self) -> int | None: ...
    @property
    def values(self) -> list[str] | None: ...
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a request, and where: ``("instances", 2, "text")``."""

    loc: Loc
    msg: str

    def to_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg}


def check_instance(value: Any, fields: Mapping[str, FieldSpec], loc: Loc) -> list[FieldProblem]:
    """Problems of one instance (empty when it fits)."""
    if not isinstance(value, dict):
        return [FieldProblem(loc, f"must be an object of input fields, got {_kind(value)}")]
    problems: list[FieldProblem] = []
    for name, spec in fields.items():
        if name not in value or value[name] is None:
            if spec.required:
                problems.append(FieldProblem((*loc, name), "this field is required"))
            continue
        msg = _check_value(value[name], spec)
        if msg:
            problems.append(FieldProblem((*loc, name), msg))
    for name in value:
        if name not in fields:
            declared = ", ".join(fields)
            problems.append(FieldProblem((*loc, name), f"unknown field (declared: {declared})"))
    return problems


def _check_value(v: Any, spec: FieldSpec) -> str | None:
    t = spec.type
    if t == "string":
        if not isinstance(v, str):
            return f"must be a string, got {_kind(v)}"
        if spec.max_length is not None and len(v) > spec.max_length:
            return f"must be at most {spec.max_length} characters, got {len(v)}"
        return None
    if t == "enum":
        values = spec.values or []
        if not isinstance(v, str) or v not in values:
            return f"must be one of {', '.join(values)}, got {v!r}"[:300]
        return None
    if t == "boolean":
        return None if isinstance(v, bool) else f"must be true or false, got {_kind(v)}"
    # integer / number
    if isinstance(v, bool) or not isinstance(v, int | float):
        return f"must be a number, got {_kind(v)}"
    if t == "integer" and not (isinstance(v, int) or (math.isfinite(v) and v == int(v))):
        return f"must be a whole number, got {v!r}"
    if not math.isfinite(v):
        return "must be a finite number"
    if spec.min is not None and v < spec.min:
        return f"must be at least {spec.min:g}, got {v!r}"
    if spec.max is not None and v > spec.max:
        return f"must be at most {spec.max:g}, got {v!r}"
    return None


def _kind(v: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if v is None:
        return "null"
    if isinstance(v, int | float) and not isinstance(v, bool):
        return "a number"
    return names.get(type(v), type(v).__name__)


def input_schema(fields: Mapping[str, FieldSpec]) -> dict[str, Any]:
    """The JSON Schema of one instance (for the OpenAPI document).

    >>> from liveops.core.project import FieldSpec
    >>> input_schema({"n": FieldSpec(type="integer", min=0, required=True)})["properties"]["n"]
    {'type': 'integer', 'minimum': 0.0}
    """
    props: dict[str, Any] = {}
    for name, spec in fields.items():
        p: dict[str, Any]
        if spec.type == "enum":
            p = {"type": "string", "enum": list(spec.values or [])}
        else:
            p = {"type": spec.type}
        if spec.max_length is not None:
            p["maxLength"] = spec.max_length
        if spec.min is not None:
            p["minimum"] = spec.min
        if spec.max is not None:
            p["maximum"] = spec.max
        if not spec.required:  # an optional field may be null (treated as absent)
            p = {"anyOf": [p, {"type": "null"}]}
        props[name] = p
    required = [n for n, s in fields.items() if s.required]
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema
