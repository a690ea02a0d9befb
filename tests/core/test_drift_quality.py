"""Data-quality findings and their labels (pipeline, world, note), and the check's verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from liveops.core.drift.check import check_drift
from liveops.core.drift.quality import Column, Table
from liveops.core.drift.report import CategoryCounts
from liveops.errors import InvalidInputError, UsageError


def num(values: Any) -> Column:
    x = np.asarray(values, dtype=np.float64)
    return Column("number", "double", x, int(x.size - np.isfinite(x).sum()), "number")


def cat(values: list[Any]) -> Column:
    counts: dict[str, int] = {}
    for v in values:
        if v is not None:
            counts[str(v)] = counts.get(str(v), 0) + 1
    missing = sum(v is None for v in values)
    return Column("string", "string", CategoryCounts(counts, missing), missing, "category")


def table(rows: int, **columns: Column) -> Table:
    return Table("t", rows, columns)


def with_missing(x: np.ndarray[Any, Any], share: float, seed: int) -> np.ndarray[Any, Any]:
    out = x.copy()
    out[np.random.default_rng(seed).random(x.size) < share] = np.nan
    return out


def findings(check: Any, column: str) -> dict[str, str]:
    return {f.check: f.label for f in check.findings if f.column == column}


RNG = np.random.default_rng(11)
N = 5000


def test_a_missing_share_jump_is_a_pipeline_problem_not_drift_of_the_values() -> None:
    # Same world (same normal), but 5 % -> 20 % of the values arrive missing.
    ref = with_missing(RNG.normal(50, 10, N), 0.05, 1)
    cur = with_missing(RNG.normal(50, 10, N), 0.20, 2)
    check = check_drift(table(N, income=num(ref)), table(N, income=num(cur)))
    assert findings(check, "income") == {"missing_share": "pipeline"}
    column = check.drift.column("income")
    assert column.drifted is False  # drift uses the values present
    assert column.current_missing == int(np.isnan(cur).sum())
    assert check.verdict == "fail"
    message = check.findings[0].message
    assert "jumped from" in message
    assert "20." in message


@pytest.mark.parametrize(
    ("before", "after", "label"),
    [
        (0.05, 0.20, "pipeline"),  # x4, +15 points
        (0.10, 0.19, "note"),  # +9 points but not doubled
        (0.01, 0.04, "note"),  # x4 but only +3 points
        (0.05, 0.05, None),
    ],
)
def test_the_missing_share_rule(before: float, after: float, label: str | None) -> None:
    n = 20_000
    ref = with_missing(RNG.normal(0, 1, n), before, 3)
    cur = with_missing(RNG.normal(0, 1, n), after, 4)
    got = findings(check_drift(table(n, x=num(ref)), table(n, x=num(cur))), "x")
    assert got.get("missing_share") == label


def test_a_column_can_be_both_a_pipeline_problem_and_a_world_change() -> None:
    ref = with_missing(RNG.normal(0, 1, N), 0.02, 5)
    cur = with_missing(RNG.normal(1.0, 1, N), 0.30, 6)
    check = check_drift(table(N, x=num(ref)), table(N, x=num(cur)))
    got = findings(check, "x")
    assert got["missing_share"] == "pipeline"
    assert got["drift"] == "world"
    # pipeline problems come first in the report
    assert check.findings[0].label == "pipeline"


def test_constant_column_missing_column_type_change_all_missing_and_extra() -> None:
    plans = list(RNG.choice(["a", "b", "c"], N))
    ref = table(N, plan=cat(plans), age=num(RNG.normal(40, 9, N)), visits=num(RNG.poisson(3, N)))
    ref = Table("ref", N, {**ref.columns, "gone": num(RNG.normal(0, 1, N))})
    texts = CategoryCounts({"n/a": 10, "41.5": 3}, 0)
    cur = Table(
        "cur",
        N,
        {
            "plan": cat(["a"] * N),
            "age": Column("string", "string", texts, 0, "category"),
            "visits": Column("empty", "null", None, N, None),
            "new_col": num(np.zeros(N)),
        },
    )
    check = check_drift(ref, cur)
    labels = {(f.column, f.check): f.label for f in check.findings}
    assert labels[("plan", "constant")] == "pipeline"
    assert labels[("age", "type_changed")] == "pipeline"
    assert labels[("visits", "all_missing")] == "pipeline"
    assert labels[("gone", "missing_column")] == "pipeline"
    assert labels[("new_col", "extra_columns")] == "note"
    age = next(f for f in check.findings if f.check == "type_changed")
    assert "number (double) to string" in age.message
    assert "'n/a'" in age.message
    # columns that cannot be compared are left out of the drift statistics
    assert [c.column for c in check.drift.columns] == ["plan"]
    assert check.verdict == "fail"


def test_one_value_by_chance_is_not_a_constant_column() -> None:
    # The reference is 99.9 % "a": ten current rows of "a" are what chance gives.
    ref = cat(["a"] * 9990 + ["b"] * 10)
    check = check_drift(table(10_000, c=ref), table(10, c=cat(["a"] * 10)))
    assert "constant" not in findings(check, "c")


def test_unseen_categories_and_out_of_range_explain_a_drift_or_are_a_note() -> None:
    ref = list(RNG.choice(["a", "b", "c"], N))
    moved = list(RNG.choice(["a", "b", "c", "new"], N, p=[0.3, 0.3, 0.2, 0.2]))
    check = check_drift(table(N, c=cat(ref)), table(N, c=cat(moved)))
    assert findings(check, "c") == {"drift": "world", "unseen_categories": "world"}
    unseen = next(f for f in check.findings if f.check == "unseen_categories")
    assert "'new'" in unseen.message
    assert unseen.details["values"] == 1
    # A handful of unseen values without drift is a note.
    few = ref[:-20] + ["rare"] * 20
    check = check_drift(table(N, c=cat(ref)), table(N, c=cat(few)))
    assert findings(check, "c") == {"unseen_categories": "note"}
    assert check.verdict == "pass"
    x = RNG.uniform(0, 10, N)
    check = check_drift(table(N, x=num(x)), table(N, x=num(x + 3)))
    out = next(f for f in check.findings if f.check == "out_of_range")
    assert out.label == "world"
    assert out.details["below"] == 0
    assert out.details["above"] > 0


def test_bad_tables_are_errors_with_a_message() -> None:
    one = table(1, x=num([1.0]))
    ok = table(3, x=num([1.0, 2.0, 3.0]))
    with pytest.raises(InvalidInputError, match="has 1 row: drift needs at least 2"):
        check_drift(ok, one)
    with pytest.raises(InvalidInputError, match="none of the compared columns"):
        check_drift(ok, table(3, y=num([1.0, 2.0, 3.0])))
    with pytest.raises(UsageError, match="no column 'z'"):
        check_drift(ok, ok, columns=["z"])


def test_columns_restrict_the_check_and_its_findings() -> None:
    x = RNG.normal(0, 1, N)
    ref = table(N, a=num(x), b=num(x), c=num(x))
    cur = table(N, a=num(x + 1), c=num(x), extra=num(x))
    check = check_drift(ref, cur, columns=["b", "c"])
    assert [(f.column, f.check, f.label) for f in check.findings] == [
        ("b", "missing_column", "pipeline")
    ]
    assert [c.column for c in check.drift.columns] == ["c"]  # a drifted, but not asked for
