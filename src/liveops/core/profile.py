"""Column profiles of a dataset: the reference that drift is later measured against.

A profile is plain JSON: per column its kind (number, category, text, list, boolean), the share
missing, and the statistics the monitoring path needs without re-reading the data: quantiles and
bin edges for numbers, frequencies for categories, length and vocabulary for text.

>>> p = profile_columns({"x": [1.0, 2.0, None, 4.0], "c": ["a", "b", "a", None]})
>>> p["columns"]["x"]["kind"], p["columns"]["x"]["missing_share"], p["columns"]["c"]["kind"]
('number', 0.25, 'category')
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

Kind = Literal["number", "boolean", "category", "text", "list", "empty"]
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
N_BINS = 10
TOP_CATEGORIES = 50
TOP_TOKENS = 50
_TOKEN = re.compile(r"\w+", re.UNICODE)


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def infer_kind(values: Sequence[Any]) -> Kind:
    """The kind of a column from its non-missing values.

    Strings are categories when they repeat (few distinct values, all short), text otherwise.
    """
    present = [v for v in values if not is_missing(v)]
    if not present:
        return "empty"
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "boolean"
    if all(isinstance(v, int | float | np.integer | np.floating) for v in present):
        return "number"
    if all(isinstance(v, list | tuple | np.ndarray) for v in present):
        return "list"
    strings = [str(v) for v in present]
    distinct = len(set(strings))
    short = max(len(s) for s in strings) <= 40
    if short and (distinct <= 50 or distinct <= 0.05 * len(strings)):
        return "category"
    return "text"


def profile_columns(columns: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Profile every column; returns ``{"rows": n, "columns": {name: profile}}``."""
    n = max((len(v) for v in columns.values()), default=0)
    return {"rows": n, "columns": {name: profile_column(vals) for name, vals in columns.items()}}


def profile_column(values: Sequence[Any]) -> dict[str, Any]:
    n = len(values)
    missing = sum(1 for v in values if is_missing(v))
    kind = infer_kind(values)
    out: dict[str, Any] = {"kind": kind, "count": n, "missing_share": missing / n if n else 0.0}
    present = [v for v in values if not is_missing(v)]
    if kind == "number":
        out.update(_numeric(np.asarray(present, dtype=np.float64)))
    elif kind == "boolean":
        out["frequencies"] = _frequencies([str(bool(v)).lower() for v in present])
    elif kind == "category":
        out["frequencies"] = _frequencies([str(v) for v in present])
        out["distinct"] = len(set(map(str, present)))
    elif kind == "text":
        out.update(_text([str(v) for v in present]))
    elif kind == "list":
        items = [str(i) for v in present for i in v]
        out["item_frequencies"] = _frequencies(items)
        out["length"] = _numeric(np.asarray([len(v) for v in present], dtype=np.float64))
    return out


def _numeric(x: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, Any]:
    if x.size == 0:
        return {}
    qs = np.quantile(x, QUANTILES)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, N_BINS + 1)))
    counts = np.histogram(x, bins=edges)[0] if edges.size > 1 else np.array([x.size])
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "min": float(qs[0]),
        "max": float(qs[-1]),
        "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, qs, strict=True)},
        "bin_edges": [float(e) for e in edges],
        "bin_counts": [int(c) for c in counts],
    }


def _frequencies(values: list[str]) -> dict[str, float]:
    total = len(values)
    if not total:
        return {}
    counts = Counter(values).most_common()
    freq = {k: c / total for k, c in counts[:TOP_CATEGORIES]}
    rest = sum(c for _, c in counts[TOP_CATEGORIES:])
    if rest:
        freq["__other__"] = rest / total
    return freq


def _text(texts: list[str]) -> dict[str, Any]:
    lengths = np.asarray([len(t) for t in texts], dtype=np.float64)
    tokens = Counter(tok for t in texts for tok in _TOKEN.findall(t.lower()))
    n_tokens = sum(tokens.values())
    return {
        "length": _numeric(lengths),
        "vocabulary_size": len(tokens),
        "top_tokens": {k: c / n_tokens for k, c in tokens.most_common(TOP_TOKENS)},
    }


def sample_indices(n: int, cap: int, seed: int = 0) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Indices of a uniform sample of at most ``cap`` rows out of ``n``, in row order."""
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=cap, replace=False)).astype(np.int64)
