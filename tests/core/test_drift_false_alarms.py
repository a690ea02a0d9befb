"""The defaults under no drift (seeds, small windows, high cardinality) and under a shift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from liveops.core.drift.categorical import categorical_drift, count_values, js_distance
from liveops.core.drift.numeric import numeric_drift

SEEDS = range(20)


def _cats(rng: np.random.Generator, n: int, k: int, shares: Any = None) -> dict[str, int]:
    if shares is None:
        w = 1.0 / np.arange(1, k + 1) ** 0.8
        shares = w / w.sum()
    counts, _ = count_values(rng.choice(k, size=n, p=shares).tolist())
    return counts


@pytest.mark.parametrize("k", [3, 50, 1000])
@pytest.mark.parametrize("rows", [1000, 10_000])
def test_unchanged_categories_are_rarely_flagged(k: int, rows: int) -> None:
    flags = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        d = categorical_drift("c", _cats(rng, rows, k), _cats(rng, rows, k))
        flags += bool(d.drifted)
    assert flags / len(SEEDS) <= 0.05


def test_a_plain_threshold_would_flag_what_sampling_alone_gives() -> None:
    # Without grouping, 1,000 values at 1,000 rows are far apart by chance alone.
    rng = np.random.default_rng(0)
    ref, cur = _cats(rng, 1000, 1000), _cats(rng, 1000, 1000)
    keys = sorted(set(ref) | set(cur))
    assert js_distance([ref.get(x, 0) for x in keys], [cur.get(x, 0) for x in keys]) > 0.1
    assert categorical_drift("c", ref, cur, top_k=1000).drifted is False


@pytest.mark.parametrize("rows", [200, 1000, 10_000])
def test_unchanged_numbers_are_rarely_flagged(rows: int) -> None:
    flags = 0
    makers = [
        lambda r, n: r.normal(0, 1, n),
        lambda r, n: r.lognormal(0, 1.5, n),
        lambda r, n: r.poisson(3, n).astype(float),
    ]
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for make in makers:
            flags += bool(numeric_drift("x", make(rng, rows), make(rng, rows)).drifted)
    assert flags / (len(SEEDS) * len(makers)) <= 0.05


def test_a_shifted_value_share_is_flagged_at_10k_rows() -> None:
    base = np.full(10, 0.8 / 9)
    base[0] = 0.2
    moved = np.full(10, 0.65 / 9)
    moved[0] = 0.35
    for seed in range(5):
        rng = np.random.default_rng(seed)
        assert categorical_drift(
            "c", _cats(rng, 10_000, 10, base), _cats(rng, 10_000, 10, moved)
        ).drifted


def test_a_new_value_is_flagged_at_a_small_window() -> None:
    rng = np.random.default_rng(1)
    ref = _cats(rng, 1000, 50)
    cur = _cats(rng, 900, 50)
    cur["brand-new"] = 100
    assert categorical_drift("c", ref, cur).drifted is True


@pytest.mark.parametrize("shift", ["mean", "scale", "tail"])
def test_shifted_numbers_are_flagged(shift: str) -> None:
    rng = np.random.default_rng(11)
    ref = rng.normal(0, 1, 10_000)
    cur = {
        "mean": rng.normal(0.5, 1, 10_000),
        "scale": rng.normal(0, 1.5, 10_000),
        "tail": rng.standard_t(3, 10_000) / np.sqrt(3),
    }[shift]
    assert numeric_drift("x", ref, cur).drifted is True
