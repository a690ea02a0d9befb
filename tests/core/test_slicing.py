"""``slice_by``: slices from the reference, in the same filter form as hand-written slices."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

from liveops.core.evaluation import slicing
from liveops.core.evaluation.slicing import slices_from_profile
from liveops.core.evaluation.suite import parse_suite
from liveops.core.profile import profile_columns
from liveops.errors import InvalidInputError, ProjectFileError


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    return [
        {
            "alcohol": float(r["alcohol"]),
            "proline": int(r["proline"]),
            "origin": ["north", "south", "east", "west", "hill"][i % 5] if i % 7 else None,
            "organic": bool(i % 3),
            "note": f"tasting note number {i} with words",
        }
        for i, (_, r) in enumerate(frame.iterrows())
    ]


@pytest.fixture(scope="module")
def profile(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return profile_columns({k: [r[k] for r in rows] for k in rows[0]})


def test_number_bins_are_the_reference_quartiles_and_hold_every_row_once(
    rows: list[dict[str, Any]], profile: dict[str, Any]
) -> None:
    import numpy as np

    slices = slices_from_profile(profile, ["alcohol"])
    assert len(slices) == 4
    q = np.quantile([r["alcohol"] for r in rows], [0.25, 0.5, 0.75])
    edges = [float(f"{x:.4g}") for x in q]
    lo, hi = min(r["alcohol"] for r in rows), max(r["alcohol"] for r in rows)
    assert [s.name for s in slices] == [
        f"alcohol in [{lo:g}, {edges[0]:g})",
        f"alcohol in [{edges[0]:g}, {edges[1]:g})",
        f"alcohol in [{edges[1]:g}, {edges[2]:g})",
        f"alcohol in [{edges[2]:g}, {hi:g}]",
    ]
    members = [[i for i, r in enumerate(rows) if s.where.matches(r, 0)] for s in slices]
    assert sorted(i for m in members for i in m) == list(range(len(rows)))
    assert all(abs(len(m) - len(rows) / 4) <= 3 for m in members)
    # values beyond the reference still land in the outer bins
    assert slices[0].where.matches({"alcohol": -5.0}, 0)
    assert slices[-1].where.matches({"alcohol": 99.0}, 0)


def test_category_slices_are_the_top_values_plus_other_with_missing_in_other(
    rows: list[dict[str, Any]], profile: dict[str, Any]
) -> None:
    slices = slices_from_profile(profile, ["origin"], top=3)
    names = [s.name for s in slices]
    assert len(names) == 4
    assert names[-1] == "origin=other"
    top = [n.removeprefix("origin=") for n in names[:3]]
    other = slices[-1]
    assert other.where.matches({"origin": None}, 0)
    assert other.where.matches({"origin": "never seen"}, 0)
    assert not any(other.where.matches({"origin": v}, 0) for v in top)
    counts = [sum(s.where.matches(r, 0) for r in rows) for s in slices]
    assert sum(counts) == len(rows)
    # hand-written slices use the same filter form: a dump reads back as a slice
    assert slices[0].where.conditions() == {"origin": {"eq": top[0]}}


def test_boolean_columns_slice_by_their_two_values(profile: dict[str, Any]) -> None:
    slices = slices_from_profile(profile, ["organic"])
    assert sorted(s.name for s in slices) == ["organic=false", "organic=true"]
    true = next(s for s in slices if s.name == "organic=true")
    assert true.where.matches({"organic": True}, 0)
    assert not true.where.matches({"organic": False}, 0)


def test_a_missing_or_free_text_column_is_refused_with_its_name(profile: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="'colour', which the reference does not have"):
        slices_from_profile(profile, ["colour"])
    with pytest.raises(InvalidInputError, match="'note' is text"):
        slices_from_profile(profile, ["note"])


def test_gates_may_name_slices_slice_by_will_make_and_nothing_else() -> None:
    base = """
cases: {dataset: wine-eval}
slice_by: [origin, alcohol]
gates:
  - {metric: accuracy, slice: %s, min: 0.5, kind: blocker}
"""
    assert parse_suite(base % "origin=north").slice_by == ["origin", "alcohol"]
    assert parse_suite(base % '"alcohol in [12.36, 13.05)"').gates[0].slice
    with pytest.raises(ProjectFileError, match="unknown slice 'region=north'"):
        parse_suite(base % "region=north")
    with pytest.raises(ProjectFileError, match="slice_by names column 'origin' twice"):
        parse_suite("cases: {dataset: d}\nslice_by: [origin, origin]\n")


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(slicing)
    assert result.attempted > 0
    assert result.failed == 0
