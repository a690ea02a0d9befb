"""The cases of an evaluation: datasets read and checked against the suite, slices and
scenarios resolved to row indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from liveops.core.evaluation.suite import TEXT_LENGTH, Suite
from liveops.core.records import DatasetRecord
from liveops.errors import DatasetNotFound, InvalidInputError
from liveops.services.datasets import load_records, resolve_dataset
from liveops.store import Store

__all__ = [
    "REVIEW_ITEM_COLUMN",
    "Cases",
    "check_columns",
    "compact_inputs",
    "example_text",
    "latest_regression",
    "load_cases",
    "regression_dataset_name",
    "scopes",
    "with_regression",
]

REVIEW_ITEM_COLUMN = "review_item"


def regression_dataset_name(service: str) -> str:
    """The managed regression dataset of ``service``.

    >>> regression_dataset_name("support-router")
    'support-router-regression'
    """
    return f"{service}-regression"[:64]


def latest_regression(store: Store, service: str) -> DatasetRecord | None:
    """The latest version of ``service``'s regression dataset, or None before any promotion."""
    return store.datasets.get(regression_dataset_name(service))


@dataclass
class Cases:
    dataset_ref: str
    records: list[dict[str, Any]]
    expected: list[str]
    ids: list[str]
    text_field: str | None = None  # None: the model reads no text (a tabular model)
    expected_col: str = "label"

    def examples(self) -> list[str]:
        """Each case as a failure example shows it: its text, or its inputs in one line."""
        return [example_text(r, self.text_field, self.expected_col) for r in self.records]


def example_text(record: dict[str, Any], text_field: str | None, expected_col: str) -> str:
    """A case as one line: the text field's value, or (without a text field) every input.

    >>> example_text({"radius": 14.127, "size": "large", "label": "benign"}, None, "label")
    'radius=14.13, size=large'
    """
    if text_field is not None:
        return str(record.get(text_field, ""))
    return compact_inputs({k: v for k, v in record.items() if k not in (expected_col, "id")})


def compact_inputs(inputs: dict[str, Any], limit: int = 300) -> str:
    """``name=value, ...`` with numbers to four significant digits, missing values as ``∅``.

    >>> compact_inputs({"x": 0.000123456, "n": 3, "c": None})
    'x=0.0001235, n=3, c=∅'
    """

    def show(v: Any) -> str:
        if v is None:
            return "∅"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    line = ", ".join(f"{k}={show(v)}" for k, v in inputs.items())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def load_cases(
    store: Store, ref: str, expected_col: str, text_field: str | None, what: str
) -> Cases:
    """The rows of dataset ``ref``, checked; ``what`` ("the cases", "the must-pass") names the
    suite's part that asked for them in every message. Without a ``text_field`` the column
    ``text`` is the text when there is one; otherwise the cases have no text."""
    try:
        ds = resolve_dataset(store, ref)
    except DatasetNotFound as exc:
        raise DatasetNotFound(
            f"{exc.message} (named by {what} of the suite)", hint=exc.hint, **exc.details
        ) from None
    records = load_records(store, ds)
    if not records:
        raise InvalidInputError(f"{what} dataset {ds.ref} has no rows", hint="add cases to it")
    columns = set(records[0])
    if text_field is None and "text" in columns:
        text_field = "text"
    for col, role in ((expected_col, "expected label"), (text_field, "text field")):
        if col is not None and col not in columns:
            raise InvalidInputError(
                f"{what} dataset {ds.ref} has no column {col!r} (the suite's {role}); "
                f"columns: {', '.join(sorted(columns))}",
                hint="fix the suite file or the dataset",
            )
    missing = [i for i, r in enumerate(records) if r.get(expected_col) is None]
    if missing:
        raise InvalidInputError(
            f"{what} dataset {ds.ref}: row {missing[0] + 1} (of {len(records)}, counting from 1) "
            f"has no {expected_col!r}",
            hint="every case needs an expected label",
        )
    ids = [
        str(r["id"]) if r.get("id") is not None else f"{ds.ref}#{i}" for i, r in enumerate(records)
    ]
    expected = [str(r[expected_col]) for r in records]
    return Cases(ds.ref, records, expected, ids, text_field, expected_col)


def with_regression(store: Store, service: str, suite: Suite, must: Cases | None) -> Cases | None:
    """Cases promoted from human review (the service's managed regression dataset, latest
    version) run as more must-pass cases; the suite file is never rewritten."""
    ds = latest_regression(store, service)
    if ds is None:
        return must
    reg = load_cases(store, ds.ref, suite.cases.expected, suite.cases.text_field, "the regression")
    if must is None:
        return reg
    return Cases(
        f"{must.dataset_ref} + {reg.dataset_ref}",
        must.records + reg.records,
        must.expected + reg.expected,
        must.ids + reg.ids,
        must.text_field or reg.text_field,
        must.expected_col,
    )


def check_columns(suite: Suite, cases: Cases) -> None:
    columns = set(cases.records[0])
    for kind, items in (("slice", suite.slices), ("scenario", suite.cases.scenarios)):
        for item in items:
            for col in item.where.columns():
                if col != TEXT_LENGTH and col not in columns:
                    have = ", ".join(sorted(columns))
                    raise InvalidInputError(
                        f"{kind} {item.name!r} names column {col!r}, which dataset "
                        f"{cases.dataset_ref} does not have (columns: {have})",
                        hint=f"fix the {kind} in the suite file",
                    )


def scopes(suite: Suite, cases: Cases) -> dict[str, np.ndarray[Any, Any]]:
    field = cases.text_field
    lengths = [
        len(r[field]) if field is not None and isinstance(r.get(field), str) else 0
        for r in cases.records
    ]
    scopes: dict[str, np.ndarray[Any, Any]] = {"overall": np.arange(len(cases.records))}
    for kind, items in (("slice", suite.slices), ("scenario", suite.cases.scenarios)):
        for item in items:
            idx = [i for i, r in enumerate(cases.records) if item.where.matches(r, lengths[i])]
            scopes[f"{kind}:{item.name}"] = np.asarray(idx, dtype=np.int64)
    return scopes
