"""From the log rows and feedback of a range of windows to one
:class:`~liveops.core.monitoring.window.WindowStats` per (version, arm, slice, window).

The rows are turned into numpy columns once (:func:`columns_of`); each slice then counts its
rows per (window, version, arm) key with ``np.bincount`` (and ``np.unique`` for the sparse
histograms), so the work per row is a few vector operations whatever the number of slices.

What a row counts as:

- an **error** when the model failed (``error`` is set; a fallback answered), a **timeout**
  when it failed by ``model_timeout``;
- a **fallback** when ``fallback`` names what answered, by the first code of its reason
  (``model_timeout``, ``model_error``, ``below_threshold``, ``circuit_open`` ...);
- **below threshold** when its reason holds ``below_threshold``; **human review** when its
  decision is ``human_review``;
- **labelled** when it has an answered label and a current (not superseded) label feedback:
  the newest one when several sources gave one. Quality counts these (predicted, actual)
  pairs in the window of the *prediction*, whenever the label arrived;
- every current rating counts (one per source); a row is **corrected** when it has a current
  correction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from liveops.core.monitoring.window import (
    CONFIDENCE_BINS,
    LATENCY_EDGES_MS,
    LatencyHistogram,
    WindowStats,
)
from liveops.services.monitoring.scopes import TYPED_SEGMENTS

__all__ = ["Columns", "aggregate", "columns_of"]

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Columns:
    """The rows of a range of windows as arrays, index-aligned."""

    n: int
    window: Array  # int64 window numbers
    group: Array  # index into groups
    groups: list[tuple[int, str]]  # (version, arm); version 0: no version answered
    label: Array  # index into vocab, -1: no label answered
    actual: Array  # index into vocab, -1: no label feedback
    vocab: list[str]
    confidence: Array  # float, nan when none
    error: Array  # bool
    timeout: Array
    below: Array
    review: Array
    corrected: Array
    fallback: Array  # index into reasons, -1: not a fallback
    reasons: list[str]
    latency_bucket: Array  # int
    cost: Array  # float, 0 when unknown
    rating_row: Array  # per current rating: its row
    rating: Array  # its value
    inputs: list[dict[str, Any]] | None
    segments: dict[str, list[str | None]]


def _json(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    return orjson.loads(value)


def columns_of(
    rows: Sequence[tuple[Any, ...]],
    feedback: Sequence[tuple[Any, ...]],
    segment_fields: Sequence[str],
) -> Columns:
    """Columns of ``rows`` (``MonitoringStore.read_rows``) joined with their current
    ``feedback`` (``read_feedback``, oldest first: the newest label wins)."""
    n = len(rows)
    actual_of, corrected, rating_row, rating = _feedback_of(rows, feedback)

    vocab: dict[str, int] = {}
    groups: dict[tuple[int, str], int] = {}
    reasons: dict[str, int] = {}
    window = np.empty(n, dtype=np.int64)
    group = np.empty(n, dtype=np.int64)
    label = np.full(n, -1, dtype=np.int64)
    actual = np.full(n, -1, dtype=np.int64)
    confidence = np.full(n, np.nan)
    latency = np.empty(n)
    cost = np.zeros(n)
    error = np.zeros(n, dtype=bool)
    timeout = np.zeros(n, dtype=bool)
    below = np.zeros(n, dtype=bool)
    review = np.zeros(n, dtype=bool)
    fallback = np.full(n, -1, dtype=np.int64)
    extra = [f for f in segment_fields if f not in TYPED_SEGMENTS]
    segments: dict[str, list[str | None]] = {f: [None] * n for f in segment_fields}
    typed = {f: 12 + TYPED_SEGMENTS.index(f) for f in segment_fields if f in TYPED_SEGMENTS}
    inputs: list[dict[str, Any]] | None = [] if n and rows[0][16] is not None else None
    for i, r in enumerate(rows):
        (w, _, version, arm, lab, conf, decision, fb, reason, lat, c, err) = r[:12]
        window[i] = w
        group[i] = groups.setdefault((int(version or 0), str(arm)), len(groups))
        if lab is not None:
            label[i] = vocab.setdefault(lab, len(vocab))
        if conf is not None:
            confidence[i] = conf
        latency[i] = lat
        if c is not None:
            cost[i] = c
        if err is not None:
            error[i] = True
            timeout[i] = err == "model_timeout"
        if reason is not None and "below_threshold" in reason:
            below[i] = True
        review[i] = decision == "human_review"
        if fb is not None:
            code = reason.split(";", 1)[0].split(":", 1)[0] if reason else "unknown"
            fallback[i] = reasons.setdefault(code, len(reasons))
        for f, col in typed.items():
            segments[f][i] = r[col]
        if extra:
            seg = _json(r[15]) or {}
            for f in extra:
                v = seg.get(f)
                segments[f][i] = None if v is None else str(v)
        if inputs is not None:
            inputs.append(_json(r[16]) or {})
    for i, a in actual_of.items():
        actual[i] = vocab.setdefault(a, len(vocab))
    return Columns(
        n=n,
        window=window,
        group=group,
        groups=list(groups),
        label=label,
        actual=actual,
        vocab=list(vocab),
        confidence=confidence,
        error=error,
        timeout=timeout,
        below=below,
        review=review,
        corrected=corrected,
        fallback=fallback,
        reasons=list(reasons),
        latency_bucket=np.searchsorted(np.asarray(LATENCY_EDGES_MS), latency, side="left"),
        cost=cost,
        rating_row=np.asarray(rating_row, dtype=np.int64),
        rating=np.asarray(rating, dtype=float),
        inputs=inputs,
        segments=segments,
    )


def _feedback_of(
    rows: Sequence[tuple[Any, ...]], feedback: Sequence[tuple[Any, ...]]
) -> tuple[dict[int, str], Array, list[int], list[float]]:
    """The newest label per row, which rows are corrected, and every rating with its row."""
    index = {r[1]: i for i, r in enumerate(rows)}
    actual_of: dict[int, str] = {}
    corrected = np.zeros(len(rows), dtype=bool)
    rating_row: list[int] = []
    rating: list[float] = []
    for pid, kind, value, number in feedback:
        i = index.get(pid)
        if i is None:
            continue
        if kind == "label":
            actual_of[i] = str(value)
        elif kind == "rating" and number is not None:
            rating_row.append(i)
            rating.append(float(number))
        elif kind == "correction":
            corrected[i] = True
    return actual_of, corrected, rating_row, rating


def _sparse(key: Array, code: Array, size: int) -> dict[int, Counter[int]]:
    """Counts of ``code`` (0..size-1) per key, for the keys that have any."""
    if not key.size:
        return {}
    u, c = np.unique(key * size + code, return_counts=True)
    out: dict[int, Counter[int]] = {}
    for k, v, m in zip((u // size).tolist(), (u % size).tolist(), c.tolist(), strict=True):
        out.setdefault(k, Counter())[v] = m
    return out


def _ints(a: Array) -> list[int]:
    return [int(x) for x in np.rint(a).astype(np.int64).tolist()]


def _floats(a: Array) -> list[float]:
    return [float(x) for x in a.tolist()]


@dataclass(frozen=True)
class _Shared:
    """What every slice of a range reuses: the row keys and the derived columns."""

    cols: Columns
    w0: int
    keys: Array  # per row: (window - w0) * groups + group
    nk: int
    n_vocab: int
    n_reasons: int
    has_conf: Array
    conf_bin: Array
    labelled: Array
    pair: Array
    unhelpful: Array

    @classmethod
    def of(cls, cols: Columns, unhelpful_at_most: float) -> _Shared:
        w0 = int(cols.window.min())
        keys = (cols.window - w0) * len(cols.groups) + cols.group
        n_vocab = max(1, len(cols.vocab))
        conf = np.nan_to_num(cols.confidence)
        return cls(
            cols=cols,
            w0=w0,
            keys=keys,
            nk=int(keys.max()) + 1,
            n_vocab=n_vocab,
            n_reasons=max(1, len(cols.reasons)),
            has_conf=~np.isnan(cols.confidence),
            conf_bin=np.clip((conf * CONFIDENCE_BINS).astype(np.int64), 0, CONFIDENCE_BINS - 1),
            labelled=(cols.label >= 0) & (cols.actual >= 0),
            pair=cols.label * n_vocab + cols.actual,
            unhelpful=cols.rating <= unhelpful_at_most,
        )


def aggregate(
    cols: Columns,
    masks: Mapping[str, Array],
    *,
    unhelpful_at_most: float,
) -> list[dict[str, Any]]:
    """One row per (version, arm, slice, window) with answers:
    ``{"version", "arm", "slice", "window", "stats"}`` (``stats``: the WindowStats dict)."""
    if cols.n == 0:
        return []
    shared = _Shared.of(cols, unhelpful_at_most)
    out: list[dict[str, Any]] = []
    for name, mask in masks.items():
        idx = np.flatnonzero(mask)
        if idx.size:
            out += _one_slice(shared, name, mask, idx)
    return out


def _one_slice(sh: _Shared, name: str, mask: Array, idx: Array) -> list[dict[str, Any]]:
    cols, nk = sh.cols, sh.nk
    k = sh.keys[idx]

    def count(x: Array) -> list[float]:
        return _floats(np.bincount(k, weights=x[idx], minlength=nk))

    def where(m: Array) -> tuple[Array, Array]:  # the keys and rows of the slice where m holds
        sel = m[idx]
        return k[sel], idx[sel]

    volume = _ints(np.bincount(k, minlength=nk))
    errors, timeouts = _ints(np.asarray(count(cols.error))), _ints(np.asarray(count(cols.timeout)))
    below, reviews = _ints(np.asarray(count(cols.below))), _ints(np.asarray(count(cols.review)))
    corrected = _ints(np.asarray(count(cols.corrected)))
    confs = _ints(np.asarray(count(sh.has_conf)))
    cost, conf_sum = count(cols.cost), count(np.nan_to_num(cols.confidence))
    lat = _sparse(k, cols.latency_bucket[idx], len(LATENCY_EDGES_MS) + 1)
    kl, il = where(cols.label >= 0)
    labels = _sparse(kl, cols.label[il], sh.n_vocab)
    kf, i_f = where(cols.fallback >= 0)
    fallbacks = _sparse(kf, cols.fallback[i_f], sh.n_reasons)
    kc, ic = where(sh.has_conf)
    bins = _sparse(kc, sh.conf_bin[ic], CONFIDENCE_BINS)
    kq, iq = where(sh.labelled)
    confusion = _sparse(kq, sh.pair[iq], sh.n_vocab * sh.n_vocab)
    in_slice = mask[cols.rating_row]
    rk = sh.keys[cols.rating_row[in_slice]]
    r_sum = _floats(np.bincount(rk, weights=cols.rating[in_slice], minlength=nk))
    r_n = _ints(np.bincount(rk, minlength=nk))
    r_bad = _ints(np.bincount(rk, weights=sh.unhelpful[in_slice], minlength=nk))
    empty: Counter[int] = Counter()
    g = len(cols.groups)
    out: list[dict[str, Any]] = []
    for key in np.flatnonzero(np.asarray(volume)).tolist():
        stats = WindowStats(
            volume=volume[key],
            errors=errors[key],
            fallbacks=Counter({cols.reasons[c]: m for c, m in fallbacks.get(key, empty).items()}),
            below_threshold=below[key],
            reviews=reviews[key],
            latency=LatencyHistogram(Counter(lat.get(key, empty))),
            cost=cost[key],
            labels=Counter({cols.vocab[c]: m for c, m in labels.get(key, empty).items()}),
            confidence_sum=conf_sum[key],
            confidences=confs[key],
            confusion=Counter(
                {
                    (cols.vocab[c // sh.n_vocab], cols.vocab[c % sh.n_vocab]): m
                    for c, m in confusion.get(key, empty).items()
                }
            ),
            timeouts=timeouts[key],
            confidence_bins=Counter(bins.get(key, empty)),
            rating_sum=r_sum[key],
            ratings=r_n[key],
            unhelpful=r_bad[key],
            corrections=corrected[key],
        )
        version, arm = cols.groups[key % g]
        out.append(
            {
                "version": version,
                "arm": arm,
                "slice": name,
                "window": sh.w0 + key // g,
                "stats": stats.to_dict(),
            }
        )
    return out
