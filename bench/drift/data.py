"""The benchmark's data: a reference and a current table, seeded, with stated shifts.

15 numeric columns (normal, log-normal, uniform, integer counts; some with missing values) and
5 categorical ones (3 to 1,000 values). Shifted in the current table:

- ``num_mean``: normal, mean + 0.5 reference SD;
- ``num_scale``: normal, SD x 1.5;
- ``num_tail``: a heavier tail, Student t with 3 degrees of freedom at the same SD;
- ``num_missing``: the values unchanged, the missing share 5 % -> 20 % (a pipeline problem, not
  drift of the values: no drift method should flag it, and none does);
- ``cat_share``: one of 10 values 20 % -> 35 %;
- ``cat_new``: a value the reference never had, at 10 %.

The other 14 columns are drawn the same way for both tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Table = dict[str, Any]

SHIFTED_BY_DRIFT = ("num_mean", "num_scale", "num_tail", "cat_share", "cat_new")
SHIFTED_MISSING = ("num_missing",)
CATEGORICAL = ("cat_3", "cat_share", "cat_new", "cat_200", "cat_1000")


def _with_missing(rng: np.random.Generator, x: np.ndarray[Any, Any], share: float) -> Any:
    x = x.astype(np.float64)
    x[rng.random(x.size) < share] = np.nan
    return x


def _categories(rng: np.random.Generator, n: int, k: int, shares: Any = None) -> Any:
    labels = np.array([f"v{i:04d}" for i in range(k)], dtype=object)
    if shares is None:
        # A Zipf-like mix: a few common values and a long tail, as real categories are.
        w = 1.0 / np.arange(1, k + 1) ** 0.8
        shares = w / w.sum()
    return labels[rng.choice(k, size=n, p=shares)]


def table(n: int, seed: int, *, shifted: bool) -> Table:
    """One table of ``n`` rows; ``shifted`` applies the module's shifts."""
    rng = np.random.default_rng(seed)
    cols: Table = {}
    cols["num_normal"] = rng.normal(50, 10, n)
    cols["num_normal_missing"] = _with_missing(rng, rng.normal(0, 1, n), 0.1)
    cols["num_lognormal"] = rng.lognormal(3, 1, n)
    cols["num_lognormal_wide"] = rng.lognormal(0, 2, n)
    cols["num_uniform"] = rng.uniform(0, 100, n)
    cols["num_uniform_missing"] = _with_missing(rng, rng.uniform(-1, 1, n), 0.02)
    cols["num_counts"] = rng.poisson(3, n).astype(np.float64)
    cols["num_counts_large"] = rng.poisson(200, n).astype(np.float64)
    cols["num_exponential"] = rng.exponential(5, n)
    cols["num_gamma"] = rng.gamma(2, 2, n)
    cols["num_bimodal"] = np.where(rng.random(n) < 0.3, rng.normal(-2, 1, n), rng.normal(3, 1, n))
    cols["num_mean"] = rng.normal(0, 1, n) + (0.5 if shifted else 0.0)
    cols["num_scale"] = rng.normal(10, 2 * (1.5 if shifted else 1.0), n)
    if shifted:
        cols["num_tail"] = rng.standard_t(3, n) / np.sqrt(3.0)  # t3 has variance 3
    else:
        cols["num_tail"] = rng.normal(0, 1, n)
    cols["num_missing"] = _with_missing(rng, rng.normal(5, 1, n), 0.20 if shifted else 0.05)
    cols["cat_3"] = _categories(rng, n, 3)
    base10 = np.full(10, 0.8 / 9)
    base10[0] = 0.2
    if shifted:
        base10 = np.full(10, 0.65 / 9)
        base10[0] = 0.35
    cols["cat_share"] = _categories(rng, n, 10, base10)
    new = _categories(rng, n, 50)
    if shifted:
        new[rng.random(n) < 0.1] = "brand-new"
    cols["cat_new"] = new
    cols["cat_200"] = _categories(rng, n, 200)
    cols["cat_1000"] = _categories(rng, n, 1000)
    return cols


def write(path: str, n: int, seed: int, *, shifted: bool) -> None:
    """Write one table as Parquet (pyarrow, snappy)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = table(n, seed, shifted=shifted)
    arrays = {
        k: pa.array(v, type=pa.string()) if k.startswith("cat_") else pa.array(v, from_pandas=True)
        for k, v in cols.items()
    }
    pq.write_table(pa.table(arrays), path)
