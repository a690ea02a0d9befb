"""Drift statistics against independent oracles (scipy, statsmodels, numpy), and bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from statsmodels.stats.multitest import multipletests

from liveops.core.drift.categorical import categorical_drift, count_values, group_top_k
from liveops.core.drift.numeric import WASSERSTEIN_SLICE, numeric_drift
from liveops.core.drift.report import CategoryCounts, adjust_bh, drift_report, prediction_drift
from liveops.core.drift.result import DriftReport
from liveops.core.drift.text import text_drift
from liveops.errors import InvalidInputError, UsageError


def _fixtures() -> dict[str, tuple[Any, Any]]:
    rng = np.random.default_rng(7)
    return {
        "normal": (rng.normal(0, 1, 3000), rng.normal(0.2, 1.1, 2500)),
        "ties": (rng.poisson(2, 4000).astype(float), rng.poisson(2.3, 3000).astype(float)),
        "single value": (rng.normal(5, 2, 500), np.array([5.0])),
        "constant reference": (np.full(300, 3.0), rng.normal(3, 1, 200)),
        "heavy tails": (rng.standard_cauchy(5000), rng.standard_t(1.5, 4000)),
        "large": (rng.lognormal(0, 1, 60_000), rng.lognormal(0.01, 1, 40_000)),
        # More merged values than one slice of the distance's sum (WASSERSTEIN_SLICE), with
        # ties that straddle the slices' edges.
        "several slices": (
            rng.integers(0, 40, 400_000).astype(float),
            np.concatenate([rng.integers(0, 50, 300_000), rng.standard_t(3, 1000)]),
        ),
    }


FIXTURES = _fixtures()


@pytest.mark.parametrize("name", list(FIXTURES))
def test_wasserstein_equals_scipy_divided_by_the_reference_sd(name: str) -> None:
    ref, cur = FIXTURES[name]
    if name == "several slices":
        assert ref.size + cur.size > 2 * WASSERSTEIN_SLICE
    d = numeric_drift("x", ref, cur)
    expected = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
    assert d.statistic == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", list(FIXTURES))
def test_ks_equals_scipy(name: str) -> None:
    ref, cur = FIXTURES[name]
    d = numeric_drift("x", ref, cur, method="ks")
    want = stats.ks_2samp(ref, cur)
    assert (d.statistic, d.p_value) == pytest.approx((want.statistic, want.pvalue), rel=1e-12)


def test_histogram_holds_every_value_and_matches_numpy_inside_the_edges() -> None:
    ref, cur = FIXTURES["normal"]
    d = numeric_drift("x", ref, cur)
    assert d.histogram is not None
    assert d.histogram.edges is not None
    edges = np.asarray(d.histogram.edges)
    assert sum(d.histogram.current) == cur.size
    inside = cur[(cur >= edges[0]) & (cur <= edges[-1])]
    counts = np.histogram(inside, bins=edges)[0]
    # Values beyond the reference's range go to the outer bins; inner bins equal numpy's.
    assert list(counts[1:-1]) == list(d.histogram.current[1:-1])


def test_psi_on_reference_deciles() -> None:
    ref, cur = FIXTURES["normal"]
    d = numeric_drift("x", ref, cur, method="psi")
    edges = np.quantile(ref, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    r = np.histogram(ref, bins=edges)[0] / ref.size
    c = np.histogram(cur, bins=edges)[0] / cur.size
    assert d.statistic == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-9)


def test_missing_values_are_left_out_and_counted() -> None:
    d = numeric_drift("x", [1.0, None, 2.0, float("nan"), 3.0], [1.0, 2.0, float("inf")])
    assert (d.reference_size, d.reference_missing, d.current_size, d.current_missing) == (
        3,
        2,
        2,
        1,
    )


CATS = {
    "three": ({"a": 500, "b": 300, "c": 200}, {"a": 450, "b": 330, "c": 220}),
    "two (Yates)": ({"yes": 90, "no": 10}, {"yes": 80, "no": 20}),
    "new value": ({"a": 50, "b": 50}, {"a": 40, "b": 40, "z": 20}),
    "one value": ({"a": 100}, {"a": 70}),
}


@pytest.mark.parametrize("name", list(CATS))
def test_chi_square_is_scipy_contingency_on_the_grouped_table(name: str) -> None:
    ref, cur = CATS[name]
    d = categorical_drift("c", ref, cur, method="chi2")
    _, r, c = group_top_k(ref, cur)
    table = np.vstack([r, c])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        assert (d.statistic, d.p_value) == (0.0, 1.0)
        return
    want = stats.chi2_contingency(table)
    assert (d.statistic, d.p_value) == pytest.approx((want.statistic, want.pvalue), rel=1e-12)


@pytest.mark.parametrize("name", list(CATS))
def test_js_equals_scipy_base_2(name: str) -> None:
    ref, cur = CATS[name]
    d = categorical_drift("c", ref, cur)
    _, r, c = group_top_k(ref, cur)
    assert d.statistic == pytest.approx(float(jensenshannon(r, c, base=2)), abs=1e-12)


def test_grouping_keeps_the_reference_top_k_and_says_so() -> None:
    rng = np.random.default_rng(3)
    ref, _ = count_values(rng.integers(0, 100_000, 200_000).tolist())
    cur, _ = count_values(rng.integers(0, 100_000, 200_000).tolist())
    d = categorical_drift("id", ref, cur)
    assert d.histogram is not None
    assert d.histogram.labels is not None
    assert len(d.histogram.labels) == 51
    assert "grouped to the top 50" in d.note
    assert d.drifted is False


def test_bh_equals_statsmodels() -> None:
    ps = [0.001, 0.2, 0.03, 0.04, 0.5, 0.012]
    assert adjust_bh(ps) == pytest.approx(list(multipletests(ps, method="fdr_bh")[1]))


def test_report_adjusts_p_values_across_columns() -> None:
    rng = np.random.default_rng(5)
    ref = {f"x{i}": rng.normal(0, 1, 800) for i in range(5)}
    cur = {f"x{i}": rng.normal(0.15 * i, 1, 800) for i in range(5)}
    report = drift_report(ref, cur, tests=True)
    raw = [c.p_value or 1.0 for c in report.columns]
    want = multipletests(raw, method="fdr_bh")[1]
    assert [c.p_adjusted for c in report.columns] == pytest.approx(list(want))
    assert [c.drifted for c in report.columns] == [bool(p < 0.05) for p in want]


def test_report_round_trips_through_json() -> None:
    rng = np.random.default_rng(2)
    ref = {"n": rng.normal(0, 1, 500), "c": ["a", "b"] * 250, "t": ["hello world"] * 500}
    cur = {"n": rng.normal(1, 1, 400), "c": ["a"] * 400, "t": ["bye now"] * 400}
    report = drift_report(ref, cur, methods={"n": "ks"})
    back = DriftReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert back == report


def test_report_names_the_columns_the_current_data_lacks() -> None:
    with pytest.raises(InvalidInputError, match="no column 'b'"):
        drift_report({"a": np.ones(3), "b": np.ones(3)}, {"a": np.ones(3)})


def test_report_notes_extra_current_columns_and_compares_the_rest() -> None:
    report = drift_report({"a": np.ones(3)}, {"a": np.ones(3), "new": np.ones(3)})
    assert [c.column for c in report.columns] == ["a"]
    assert "new" in report.notes[0]


def test_a_number_column_holding_text_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="not numbers"):
        drift_report({"a": np.ones(3)}, {"a": ["x", "y", "z"]})


def test_a_method_for_another_kind_is_refused() -> None:
    with pytest.raises(UsageError, match="not for numbers"):
        numeric_drift("a", [1.0], [2.0], method="chi2")


def test_an_empty_side_is_not_judged_and_says_why() -> None:
    d = numeric_drift("a", [1.0, 2.0], [None, None])
    assert d.drifted is None
    assert "current sample has no values" in d.note
    assert (
        DriftReport.from_dict(json.loads(json.dumps(DriftReport((d,), 2, 2).to_dict())))
        .columns[0]
        .drifted
        is None
    )


def test_category_counts_from_a_columnar_reader_equal_raw_values() -> None:
    values = ["a"] * 60 + ["b"] * 40 + [None] * 5
    raw = drift_report({"c": values}, {"c": ["a"] * 30 + ["b"] * 70})
    counted = drift_report(
        {"c": CategoryCounts({"a": 60, "b": 40}, missing=5)},
        {"c": CategoryCounts({"a": 30, "b": 70})},
    )
    assert raw.columns == counted.columns


def test_text_drift_lists_new_frequent_terms_with_counts() -> None:
    ref = ["where is my parcel", "I want a refund", "the app crashes"] * 100
    cur = ref[:200] + ["my crypto wallet was hacked, crypto gone"] * 40
    d = text_drift("message", ref, cur)
    terms = {t.term: (t.current_count, t.reference_count) for t in d.text.new_terms}  # type: ignore[union-attr]
    assert terms["crypto"] == (80, 0)


def test_text_language_mix_drifts_with_the_language_field() -> None:
    ref = ["hola que tal", "hello there"] * 200
    cur = ["hola que tal"] * 50 + ["hello there"] * 350
    d = text_drift(
        "message",
        ref,
        cur,
        reference_languages=["es", "en"] * 200,
        current_languages=["es"] * 50 + ["en"] * 350,
    )
    assert d.text is not None
    assert d.text.language is not None
    assert d.text.language.drifted is True
    assert d.drifted is True


def test_unchanged_text_does_not_drift() -> None:
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(300)]

    def texts(n: int) -> list[str]:
        return [" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(n)]

    d = text_drift("t", texts(2000), texts(1000))
    assert d.drifted is False


def test_prediction_drift_covers_label_mix_and_confidence() -> None:
    rng = np.random.default_rng(8)
    report = prediction_drift(
        ["a"] * 500 + ["b"] * 500,
        ["a"] * 490 + ["b"] * 510,
        rng.beta(8, 2, 1000),
        rng.beta(4, 2, 1000),
    )
    assert [(c.column, c.role, c.drifted) for c in report.columns] == [
        ("label", "output", False),
        ("confidence", "output", True),
    ]
