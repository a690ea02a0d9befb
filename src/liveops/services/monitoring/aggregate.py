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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson

from liveops.core.monitoring.window import CONFIDENCE_BINS, LATENCY_EDGES_MS
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
    # What quality is judged on: the model's top label (from the logged scores), whatever the
    # decision, as offline evaluation judges it; None until with_model_labels: the answered one.
    model_label: Array | None = None

    @property
    def judged(self) -> Array:
        return self.label if self.model_label is None else self.model_label


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
    ``feedback`` (``read_feedback``, oldest first: the newest label wins).

    Built a column at a time: the rows are transposed once, numbers go to numpy directly and
    text columns (labels, arms, reasons) are coded through their few distinct values, so no
    Python code runs per row and field except the JSON segment fields and inputs.

    >>> row = (5, "p1", 2, "production", "billing", 0.9, "automatic", None, None, 12.0,
    ...        0.001, None, "web", None, None, None, None)
    >>> c = columns_of([row], [("p1", "label", "refund", None)], ["channel"])
    >>> c.groups, c.vocab, c.label.tolist(), c.actual.tolist(), c.segments
    ([(2, 'production')], ['billing', 'refund'], [0], [1], {'channel': ['web']})
    """
    n = len(rows)
    actual_of, corrected, rating_row, rating = _feedback_of(rows, feedback)
    col: list[Sequence[Any]] = list(zip(*rows, strict=True)) if n else [()] * 17
    (w, _, version, arm, lab, conf, decision, fb, reason, lat, c, err) = col[:12]

    group, groups = _groups(version, arm, n)
    vocab = {v: i for i, v in enumerate(dict.fromkeys(x for x in lab if x is not None))}
    label = _codes(lab, vocab, n)
    for a in actual_of.values():
        vocab.setdefault(a, len(vocab))
    actual = np.full(n, -1, dtype=np.int64)
    if actual_of:
        actual[np.fromiter(actual_of, np.int64)] = [vocab[a] for a in actual_of.values()]
    # a reason decides "below threshold" and the fallback's reason code: once per distinct one
    reason_code = {r: i for i, r in enumerate(dict.fromkeys(reason))}
    rcode = _codes(reason, reason_code, n, none=True)
    below_of = np.array([r is not None and "below_threshold" in r for r in reason_code], bool)
    reasons: dict[str, int] = {}
    fallback_of = np.array(
        [
            reasons.setdefault(
                r.split(";", 1)[0].split(":", 1)[0] if r else "unknown", len(reasons)
            )
            for r in reason_code
        ],
        dtype=np.int64,
    )
    errors = np.array(err, dtype=object)
    fallback_given = np.array(fb, dtype=object) != None  # noqa: E711 (element-wise)
    fallback = np.where(fallback_given, fallback_of[rcode] if n else rcode, -1)
    # reasons not behind a fallback get no code: renumber so the list holds only used ones
    fallback, reason_list = _used(fallback, list(reasons))
    extra = [f for f in segment_fields if f not in TYPED_SEGMENTS]
    segments: dict[str, list[str | None]] = {}
    for f in segment_fields:
        if f in TYPED_SEGMENTS:
            segments[f] = list(col[12 + TYPED_SEGMENTS.index(f)])
    if extra:
        parsed = [_json(x) or {} for x in col[15]]
        for f in extra:
            segments[f] = [None if (v := seg.get(f)) is None else str(v) for seg in parsed]
    segments = {f: segments[f] for f in segment_fields}
    # No rows (a span with nothing logged) has no inputs either: an empty list, not None.
    inputs = ([_json(x) or {} for x in col[16]] if rows[0][16] is not None else None) if n else []
    return Columns(
        n=n,
        window=np.fromiter(w, dtype=np.int64, count=n),
        group=group,
        groups=groups,
        label=label,
        actual=actual,
        vocab=list(vocab),
        confidence=np.array(conf, dtype=float).reshape(n),  # None -> nan
        error=errors != None,  # noqa: E711
        timeout=errors == "model_timeout",
        below=below_of[rcode] if n else np.zeros(0, dtype=bool),
        review=np.array(decision, dtype=object) == "human_review",
        corrected=corrected,
        fallback=fallback,
        reasons=reason_list,
        latency_bucket=np.searchsorted(
            np.asarray(LATENCY_EDGES_MS), np.array(lat, dtype=float).reshape(n), side="left"
        ),
        cost=np.nan_to_num(np.array(c, dtype=float).reshape(n)),  # unknown -> 0
        rating_row=np.asarray(rating_row, dtype=np.int64),
        rating=np.asarray(rating, dtype=float),
        inputs=inputs,
        segments=segments,
    )


def _groups(
    version: Sequence[int | None], arm: Sequence[str], n: int
) -> tuple[Array, list[tuple[int, str]]]:
    """Each row's (version, arm) group, numbered in order of first appearance, and the groups;
    version 0 stands for none."""
    arms = list(dict.fromkeys(arm))
    arm_code = np.fromiter(map({a: i for i, a in enumerate(arms)}.__getitem__, arm), np.int64, n)
    v = np.nan_to_num(np.array(version, dtype=float).reshape(n)).astype(np.int64)  # None -> 0
    _, first, inverse = np.unique(v * len(arms) + arm_code, return_index=True, return_inverse=True)
    order = np.argsort(first)  # the groups by their first row
    number = np.empty_like(order)
    number[order] = np.arange(order.size)
    groups = [(int(v[first[o]]), arms[int(arm_code[first[o]])]) for o in order.tolist()]
    return number[inverse.reshape(n)], groups


def _codes(values: Sequence[Any], code: Mapping[Any, int], n: int, *, none: bool = False) -> Array:
    """The code of each value; None is -1 unless ``none`` (then None has a code of its own)."""
    if none:
        return np.fromiter(map(code.__getitem__, values), dtype=np.int64, count=n)
    return np.fromiter((-1 if v is None else code[v] for v in values), dtype=np.int64, count=n)


def _used(codes: Array, names: list[str]) -> tuple[Array, list[str]]:
    """``codes`` (-1: none) renumbered over the names they use, in order of first use."""
    used = codes[codes >= 0]
    if not used.size:
        return codes, []
    _, first = np.unique(used, return_index=True)
    order = used[np.sort(first)]
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[order] = np.arange(order.size)
    return np.where(codes >= 0, remap[np.maximum(codes, 0)], -1), [names[i] for i in order]


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


class _Sparse:
    """Counts of a code (0..size-1) per key, for the keys that have any: parallel arrays
    sorted by key, then code, and a key's slice of them found by binary search."""

    def __init__(self, key: Array, code: Array, size: int) -> None:
        u, c = np.unique(key * size + code, return_counts=True)
        self.keys = u // size
        self.codes: list[int] = (u % size).tolist()
        self.counts: list[int] = c.tolist()

    def spans(self, keys: Array) -> list[tuple[int, int]]:
        """``(lo, hi)`` into codes and counts for each of ``keys``."""
        lo = np.searchsorted(self.keys, keys, side="left").tolist()
        hi = np.searchsorted(self.keys, keys, side="right").tolist()
        return list(zip(lo, hi, strict=True))

    def named(self, keys: Array, names: Sequence[Any]) -> list[dict[Any, int]]:
        """For each of ``keys``: ``{names[code]: count}``, in code order."""
        codes, counts = self.codes, self.counts
        return [{names[codes[j]]: counts[j] for j in range(lo, hi)} for lo, hi in self.spans(keys)]


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
    pair: Array  # (predicted, actual) numbered in the order of their names
    pair_names: list[list[str]]  # pair number -> [predicted, actual]
    unhelpful: Array

    @classmethod
    def of(cls, cols: Columns, unhelpful_at_most: float) -> _Shared:
        w0 = int(cols.window.min())
        keys = (cols.window - w0) * len(cols.groups) + cols.group
        n_vocab = max(1, len(cols.vocab))
        conf = np.nan_to_num(cols.confidence)
        # Labels ranked by name, so that pairs sort as WindowStats.to_dict sorts its confusion.
        ranked = sorted(cols.vocab)
        rank = np.array([ranked.index(v) for v in cols.vocab] or [0], dtype=np.int64)
        return cls(
            cols=cols,
            w0=w0,
            keys=keys,
            nk=int(keys.max()) + 1,
            n_vocab=n_vocab,
            n_reasons=max(1, len(cols.reasons)),
            has_conf=~np.isnan(cols.confidence),
            conf_bin=np.clip((conf * CONFIDENCE_BINS).astype(np.int64), 0, CONFIDENCE_BINS - 1),
            labelled=(cols.judged >= 0) & (cols.actual >= 0),
            pair=rank[np.maximum(cols.judged, 0)] * n_vocab + rank[np.maximum(cols.actual, 0)],
            pair_names=[[p, a] for p in ranked for a in ranked] or [["", ""]],
            unhelpful=cols.rating <= unhelpful_at_most,
        )


def aggregate(
    cols: Columns,
    masks: Mapping[str, Array],
    *,
    unhelpful_at_most: float,
) -> list[dict[str, Any]]:
    """One row per (version, arm, slice, window) with answers:
    ``{"version", "arm", "slice", "window", "stats"}`` (``stats``: the WindowStats dict,
    exactly as :meth:`WindowStats.to_dict` writes it)."""
    if cols.n == 0:
        return []
    shared = _Shared.of(cols, unhelpful_at_most)
    out: list[dict[str, Any]] = []
    for name, mask in masks.items():
        idx = np.flatnonzero(mask)
        if idx.size:
            out += _one_slice(shared, name, mask, idx)
    return out


_BUCKET_NAMES = [str(b) for b in range(len(LATENCY_EDGES_MS) + 1)]
_BIN_NAMES = [str(b) for b in range(CONFIDENCE_BINS)]


def _one_slice(sh: _Shared, name: str, mask: Array, idx: Array) -> list[dict[str, Any]]:
    """The window rows of one slice. The stats dicts are built column-wise, straight in
    :meth:`WindowStats.to_dict`'s form (sparse counts keyed by name, histograms by bucket in
    order, the confusion as sorted triples), with no WindowStats object per row."""
    cols, nk = sh.cols, sh.nk
    k = sh.keys[idx]
    present = np.flatnonzero(np.bincount(k, minlength=nk))  # the keys with answers

    def count(x: Array) -> Array:
        return np.bincount(k, weights=x[idx], minlength=nk)[present]

    def where(m: Array) -> tuple[Array, Array]:  # the keys and rows of the slice where m holds
        sel = m[idx]
        return k[sel], idx[sel]

    volume = _ints(np.bincount(k, minlength=nk)[present])
    errors, timeouts = _ints(count(cols.error)), _ints(count(cols.timeout))
    below, reviews = _ints(count(cols.below)), _ints(count(cols.review))
    corrected = _ints(count(cols.corrected))
    confs = _ints(count(sh.has_conf))
    cost, conf_sum = _floats(count(cols.cost)), _floats(count(np.nan_to_num(cols.confidence)))
    lat = _Sparse(k, cols.latency_bucket[idx], len(LATENCY_EDGES_MS) + 1)
    kl, il = where(cols.label >= 0)
    labels = _Sparse(kl, cols.label[il], sh.n_vocab).named(present, cols.vocab)
    kf, i_f = where(cols.fallback >= 0)
    fallbacks = _Sparse(kf, cols.fallback[i_f], sh.n_reasons).named(present, cols.reasons)
    kc, ic = where(sh.has_conf)
    bins = _Sparse(kc, sh.conf_bin[ic], CONFIDENCE_BINS).named(present, _BIN_NAMES)
    kq, iq = where(sh.labelled)
    confusion = _Sparse(kq, sh.pair[iq], sh.n_vocab * sh.n_vocab)
    in_slice = mask[cols.rating_row]
    rk = sh.keys[cols.rating_row[in_slice]]
    r_sum = _floats(np.bincount(rk, weights=cols.rating[in_slice], minlength=nk)[present])
    r_n = _ints(np.bincount(rk, minlength=nk)[present])
    r_bad = _ints(np.bincount(rk, weights=sh.unhelpful[in_slice], minlength=nk)[present])
    g = len(cols.groups)
    pair_names, q_codes, q_counts = sh.pair_names, confusion.codes, confusion.counts
    out: list[dict[str, Any]] = []
    for j, (key, (llo, lhi), (qlo, qhi)) in enumerate(
        zip(present.tolist(), lat.spans(present), confusion.spans(present), strict=True)
    ):
        stats = {
            "volume": volume[j],
            "errors": errors[j],
            "fallbacks": fallbacks[j],
            "below_threshold": below[j],
            "reviews": reviews[j],
            "latency": {_BUCKET_NAMES[lat.codes[i]]: lat.counts[i] for i in range(llo, lhi)},
            "cost": cost[j],
            "labels": labels[j],
            "confidence_sum": conf_sum[j],
            "confidences": confs[j],
            "confusion": [[*pair_names[q_codes[i]], q_counts[i]] for i in range(qlo, qhi)],
            "timeouts": timeouts[j],
            "confidence_bins": bins[j],
            "rating_sum": r_sum[j],
            "ratings": r_n[j],
            "unhelpful": r_bad[j],
            "corrections": corrected[j],
            "extra": {},
        }
        version, arm = cols.groups[key % g]
        out.append(
            {
                "version": version,
                "arm": arm,
                "slice": name,
                "window": sh.w0 + key // g,
                "stats": stats,
            }
        )
    return out


ERROR_LABEL = "(error)"  # what a failed model call is judged as: never right, as offline


def with_model_labels(
    cols: Columns, ids: Sequence[str], scores: Sequence[tuple[str, int | None, Any]]
) -> tuple[Columns, list[tuple[str, int | None, Any]]]:
    """``cols`` with :attr:`Columns.model_label` set from the rows' logged ``scores``
    (``MonitoringStore.read_scores``), and those scores parsed (for the estimate).

    An automatic answer is judged on its answered label, which is the model's own (as
    offline evaluation judges the model's labels). A row whose answer was not the model's
    (sent to human review, answered by a fallback, abstained) is judged on the top label of its
    scores; a row the model failed on (an error, no scores), even one a fallback then
    answered, on :data:`ERROR_LABEL`; any other row (a model that gives no scores) on its
    answered label. ``scores`` may leave out the automatic answers
    (``read_scores(automatic=False)``): the result is the same.

    >>> row = (5, "p1", 1, "production", None, 0.55, "human_review", None, "below_threshold",
    ...        12.0, None, None, None, None, None, None, None)
    >>> c = columns_of([row], [("p1", "label", "refund", None)], [])
    >>> c2, _ = with_model_labels(c, ["p1"], [("p1", 1, '{"refund": 0.55, "billing": 0.45}')])
    >>> [c2.vocab[i] for i in c2.judged], c.judged.tolist()
    (['refund'], [-1])
    """
    vocab = {v: i for i, v in enumerate(cols.vocab)}
    model = cols.label.copy()
    row_of = {pid: i for i, pid in enumerate(ids)}
    parsed: list[tuple[str, int | None, Any]] = []
    automatic = ~cols.review & (cols.fallback < 0) & ~cols.error & (cols.label >= 0)
    for pid, version, raw in scores:
        s = _json(raw)
        i = row_of.get(pid)
        if i is None or not isinstance(s, dict) or not s:
            continue
        parsed.append((pid, version, s))
        if not automatic[i]:
            top = max(s, key=lambda k: s[k])
            model[i] = vocab.setdefault(str(top), len(vocab))
    failed = cols.error  # the model failed, whatever the fallback then answered
    if failed.any():
        scored = np.zeros(cols.n, dtype=bool)
        scored[[row_of[pid] for pid, _, _ in parsed]] = True
        model[failed & ~scored] = vocab.setdefault(ERROR_LABEL, len(vocab))
    return replace(cols, model_label=model, vocab=list(vocab)), parsed
