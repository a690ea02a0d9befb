"""The slices a service's windows are kept for: ``all``, the suite's named slices, and each
segment field's fixed top values (``FIELD=VALUE``, the rest ``FIELD=other``).

Suite slices are the suite's ``where`` filters, evaluated by the same code as an evaluation
(:meth:`~liveops.core.evaluation.suite.Predicate.matches`) on the logged, redacted input.
They are evaluated once per distinct value of each column they read, not once per row: a
million rows hold few distinct languages or plans, and the answer depends on the value only.

Segment fields are the service's inputs the model does not read (as the gateway logs them).
Their top values come from the service's reference dataset the first time the monitor sees
the service, and are stored (``monitor_segment_values``) so slices never move; without a
reference, an enum field's declared values are used, else the most frequent values of the
log at that moment. A value never seen is ``other``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from liveops.core.clock import Clock
from liveops.core.evaluation.slicing import OTHER, slices_from_profile
from liveops.core.evaluation.suite import TEXT_LENGTH, Predicate, SliceSpec, Suite
from liveops.core.project import ServiceSpec
from liveops.errors import LiveopsError
from liveops.services.datasets import resolve_dataset
from liveops.services.evaluation import load_suite, stored_slices
from liveops.store import Store

__all__ = ["ALL", "Scopes", "SegmentField", "log_value_counts", "scopes_for"]

ALL = "all"
TYPED_SEGMENTS = ("channel", "plan", "language")  # their own columns in the log


@dataclass(frozen=True)
class SegmentField:
    name: str
    values: tuple[str, ...]  # the fixed top values, most frequent first
    source: str


@dataclass(frozen=True)
class Scopes:
    """Everything that decides which slices a logged row belongs to."""

    suite_slices: tuple[SliceSpec, ...] = ()
    text_field: str | None = None
    segments: tuple[SegmentField, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def needs_inputs(self) -> bool:
        """Whether the logged inputs must be read (a suite slice filters on them)."""
        return bool(self.suite_slices)

    def names(self) -> list[str]:
        """Every slice name, ``all`` first."""
        out = [ALL, *(s.name for s in self.suite_slices)]
        for seg in self.segments:
            out += [f"{seg.name}={v}" for v in seg.values] + [f"{seg.name}={OTHER}"]
        return list(dict.fromkeys(out))

    def masks(
        self,
        inputs: Sequence[Mapping[str, Any]] | None,
        segment_values: Mapping[str, Sequence[str | None]],
        n: int,
    ) -> dict[str, np.ndarray[Any, np.dtype[np.bool_]]]:
        """The rows of each slice, as boolean masks over the ``n`` rows. ``inputs``: the
        rows' logged inputs (needed when :attr:`needs_inputs`); ``segment_values``: each
        segment field's value per row."""
        out: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] = {ALL: np.ones(n, dtype=bool)}
        if self.suite_slices:
            assert inputs is not None
            for s in self.suite_slices:
                out[s.name] = _matches(s.where, inputs, self.text_field)
        for seg in self.segments:
            code = {v: i for i, v in enumerate(seg.values)}
            other = len(seg.values)
            codes = np.fromiter(
                (code.get(v, other) if v is not None else other for v in segment_values[seg.name]),
                dtype=np.int64,
                count=n,
            )
            for i, v in enumerate([*seg.values, OTHER]):
                out.setdefault(f"{seg.name}={v}", codes == i)
        return out


def _matches(
    where: Predicate, inputs: Sequence[Mapping[str, Any]], text_field: str | None
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """``where.matches`` on every row, decided once per distinct value of each column."""
    mask = np.ones(len(inputs), dtype=bool)
    for column, ops in where.conditions().items():
        one = Predicate.model_validate({column: ops})
        seen: dict[Any, bool] = {}
        hits = np.empty(len(inputs), dtype=bool)
        for i, record in enumerate(inputs):
            if column == TEXT_LENGTH:
                text = record.get(text_field) if text_field else None
                value: Any = len(text) if isinstance(text, str) else 0
            else:
                value = record.get(column)
            key = _key(value)
            hit = seen.get(key)
            if hit is None:
                if column == TEXT_LENGTH:
                    hit = one.matches({}, value)
                else:
                    hit = one.matches({column: value}, 0)
                seen[key] = hit
            hits[i] = hit
        mask &= hits
    return mask


def _key(value: Any) -> Any:
    # A value and its type: 1 and True and 1.0 are equal in Python but may match differently.
    try:
        hash(value)
        return (type(value), value)
    except TypeError:
        return (type(value), orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def scopes_for(
    store: Store,
    spec: ServiceSpec | None,
    project_dir: Any,
    clock: Clock,
    *,
    log_counts: Any = None,
) -> Scopes:
    """The scopes of a service; the top values of its segment fields are fixed (and stored)
    on first use. ``log_counts(field)`` gives the log's value counts of a segment field, for
    a service without a reference."""
    if spec is None:
        return Scopes(notes=("the service is not applied: only the 'all' slice",))
    notes: list[str] = []
    suite: Suite | None = None
    if spec.suite and project_dir is not None:
        try:
            suite, _ = load_suite(spec, project_dir)
        except LiveopsError as exc:
            notes.append(f"suite slices skipped: {exc.message}")
    slices: list[SliceSpec] = []
    if suite is not None:
        slices = list(suite.slices)
        if suite.slice_by:
            made = _slice_by(store, spec, suite, notes)
            slices += [s for s in made if s.name not in {x.name for x in slices}]
    segments = _segments(store, spec, clock, log_counts)
    return Scopes(
        suite_slices=tuple(slices),
        text_field=_text_field(spec, suite),
        segments=tuple(segments),
        notes=tuple(notes),
    )


def _text_field(spec: ServiceSpec, suite: Suite | None) -> str | None:
    # The field ``text_length`` measures, chosen as evaluation chooses it: the suite's, else a
    # field called ``text`` (load_cases does the same with the dataset's columns).
    if suite is not None and suite.cases.text_field is not None:
        return suite.cases.text_field
    return "text" if "text" in spec.inputs else None


def _slice_by(store: Store, spec: ServiceSpec, suite: Suite, notes: list[str]) -> list[SliceSpec]:
    """The suite's ``slice_by`` slices: as an evaluation run fixed them, else from the
    service's reference (as the next evaluation would make them)."""
    stored = stored_slices(store, spec.name, suite.slice_by)
    if stored is not None:
        return stored
    profile = _reference_profile(store, spec)
    if profile is None:
        notes.append(
            "slice_by slices skipped: no evaluation run fixed them yet and the service "
            "names no reference dataset"
        )
        return []
    try:
        return slices_from_profile(profile, suite.slice_by)
    except LiveopsError as exc:
        notes.append(f"slice_by slices skipped: {exc.message}")
        return []


def _reference_profile(store: Store, spec: ServiceSpec) -> dict[str, Any] | None:
    if not spec.reference:
        return None
    try:
        return resolve_dataset(store, spec.reference).profile
    except LiveopsError:
        return None


def _segments(store: Store, spec: ServiceSpec, clock: Clock, log_counts: Any) -> list[SegmentField]:
    fields = [n for n in spec.inputs if n not in spec.model_inputs]
    if not fields:
        return []
    stored = store.monitoring.segment_values(spec.name)
    top = spec.monitoring_settings().top_values
    profile: dict[str, Any] | None = None
    out: list[SegmentField] = []
    for name in fields:
        if name in stored:
            values, source = stored[name]
            out.append(SegmentField(name, tuple(values), source))
            continue
        if profile is None:
            profile = _reference_profile(store, spec) or {}
        values, source = _top_values(spec, name, profile, top, log_counts)
        kept = store.monitoring.fix_segment_values(spec.name, name, values, source, clock.now())
        out.append(SegmentField(name, tuple(kept), source))
    return out


def _top_values(
    spec: ServiceSpec, name: str, profile: Mapping[str, Any], top: int, log_counts: Any
) -> tuple[list[str], str]:
    kind = spec.inputs[name].type
    col = profile.get("columns", {}).get(name)
    if col is not None and col.get("frequencies"):
        values = [v for v in col["frequencies"] if v != "__other__"]
        if kind == "boolean":  # the profile writes "true"; the gateway logs str(True)
            values = [str(v == "true") for v in values]
        return values[:top], f"reference {spec.reference}"
    declared = spec.inputs[name].values
    if declared:
        return list(declared)[:top], "the declared enum values"
    counts: Mapping[str, int] = log_counts(name) if log_counts is not None else {}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [v for v, _ in ranked[:top]], "the log's most frequent values when first monitored"


def log_value_counts(store: Store, service: str, field: str) -> Counter[str]:
    """The values of a segment field in the service's latest 10,000 logged rows."""
    counts: Counter[str] = Counter()
    for row in store.predictions.recent(service, limit=10_000):
        value = row.get(field)
        if field not in ("channel", "plan", "language"):
            value = (row.get("segments") or {}).get(field)
        if value is not None:
            counts[str(value)] += 1
    return counts
