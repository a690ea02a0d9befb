"""Perturbations for numbers and categories, scaled by the reference (breast-cancer data)."""

from __future__ import annotations

import doctest
import random
import statistics
from typing import Any

import pytest

from liveops.core.evaluation import perturb_tabular
from liveops.core.evaluation.perturb import perturb_all
from liveops.core.evaluation.perturb_tabular import TABULAR_FAMILIES, column_references
from liveops.core.profile import profile_columns

NUMERIC = ("mean radius", "mean texture", "worst area")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    out = []
    for _, r in frame.iterrows():
        rec: dict[str, Any] = {c: float(r[c]) for c in NUMERIC}
        rec["size"] = "large" if rec["mean radius"] >= 15 else "small"
        rec["label"] = "malignant" if r["target"] == 0 else "benign"
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def refs(rows: list[dict[str, Any]]) -> dict[str, perturb_tabular.ColumnReference]:
    profile = profile_columns({c: [r[c] for r in rows] for c in [*NUMERIC, "size"]})
    return column_references(profile, [*NUMERIC, "size"], optional=["mean texture", "size"])


def test_the_reference_gives_kinds_ranges_spreads_and_categories(
    rows: list[dict[str, Any]], refs: dict[str, perturb_tabular.ColumnReference]
) -> None:
    area = refs["worst area"]
    values = sorted(r["worst area"] for r in rows)
    assert area.kind == "number"
    assert area.low == values[0]
    assert area.high == values[-1]
    q = statistics.quantiles(values, n=4, method="inclusive")
    assert area.spread == pytest.approx(q[2] - q[0])
    assert refs["size"].kind == "category"
    assert set(refs["size"].categories) == {"large", "small"}
    assert [n for n, c in refs.items() if c.optional] == ["mean texture", "size"]


def test_numeric_noise_is_small_against_the_spread_and_leaves_categories(
    rows: list[dict[str, Any]], refs: dict[str, perturb_tabular.ColumnReference]
) -> None:
    copies = perturb_all(rows, ["numeric_noise"], seed=1, columns=refs)["numeric_noise"]
    for col in NUMERIC:
        diffs = [c[col] - r[col] for r, c in zip(rows, copies, strict=True)]
        assert all(d != 0 for d in diffs)
        # noise sd is 0.1 x IQR: the sample sd is close to it, the mean close to 0
        assert statistics.stdev(diffs) == pytest.approx(0.1 * refs[col].spread, rel=0.15)
        assert abs(statistics.mean(diffs)) < 0.03 * refs[col].spread
    same = zip(rows, copies, strict=True)
    assert all(c["size"] == r["size"] and c["label"] == r["label"] for r, c in same)


def test_missing_value_empties_one_optional_column_only(
    rows: list[dict[str, Any]], refs: dict[str, perturb_tabular.ColumnReference]
) -> None:
    copies = perturb_all(rows, ["missing_value"], seed=2, columns=refs)["missing_value"]
    emptied = set()
    for r, c in zip(rows, copies, strict=True):
        changed = [k for k in r if r[k] != c[k]]
        assert len(changed) == 1
        assert c[changed[0]] is None
        emptied.add(changed[0])
    assert emptied == {"mean texture", "size"}  # required columns are never emptied


def test_out_of_range_and_unit_mistake_change_one_number(
    rows: list[dict[str, Any]], refs: dict[str, perturb_tabular.ColumnReference]
) -> None:
    out = perturb_all(rows, ["out_of_range", "unit_mistake"], seed=3, columns=refs)
    sides = set()
    for r, c in zip(rows, out["out_of_range"], strict=True):
        (col,) = [k for k in r if r[k] != c[k]]
        ref = refs[col]
        assert c[col] > ref.high or c[col] < ref.low
        width = ref.high - ref.low
        beyond = c[col] - ref.high if c[col] > ref.high else ref.low - c[col]
        assert 0.1 * width <= beyond <= 0.5 * width
        sides.add(c[col] > ref.high)
    assert sides == {True, False}
    for r, c in zip(rows, out["unit_mistake"], strict=True):
        (col,) = [k for k in r if r[k] != c[k]]
        assert c[col] == pytest.approx(r[col] * 100)


def test_unseen_category_is_never_a_reference_value(
    rows: list[dict[str, Any]], refs: dict[str, perturb_tabular.ColumnReference]
) -> None:
    copies = perturb_all(rows, ["unseen_category"], seed=4, columns=refs)["unseen_category"]
    assert {c["size"] for c in copies} == {"unseen"}
    taken = {
        **refs,
        "size": perturb_tabular.ColumnReference("size", "category", categories=("unseen",)),
    }
    again = perturb_all(rows[:3], ["unseen_category"], seed=4, columns=taken)["unseen_category"]
    assert {c["size"] for c in again} == {"unseen-2"}


def test_integers_stay_integers_and_missing_values_are_left_alone() -> None:
    refs = {"n": perturb_tabular.ColumnReference("n", "number", low=0, high=10, spread=40.0)}
    for family in ("numeric_noise", "out_of_range", "unit_mistake"):
        out = perturb_tabular.perturb_record({"n": 3}, family, random.Random(5), refs)
        assert isinstance(out["n"], int)
        assert perturb_tabular.perturb_record({"n": None}, family, random.Random(5), refs) == {
            "n": None
        }


def test_families_say_why_they_do_not_apply() -> None:
    nums = {"x": perturb_tabular.ColumnReference("x", "number", optional=False)}
    assert perturb_tabular.tabular_not_applicable("numeric_noise", nums) is None
    assert "no categorical" in str(perturb_tabular.tabular_not_applicable("unseen_category", nums))
    assert "no optional" in str(perturb_tabular.tabular_not_applicable("missing_value", nums))
    assert "no numeric" in str(perturb_tabular.tabular_not_applicable("unit_mistake", {}))
    assert set(TABULAR_FAMILIES) == {
        "numeric_noise",
        "missing_value",
        "out_of_range",
        "unit_mistake",
        "unseen_category",
    }


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(perturb_tabular)
    assert result.attempted > 0
    assert result.failed == 0
