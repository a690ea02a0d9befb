"""Drift of a text column: length, out-of-reference vocabulary, language mix, new terms.

- **length**: the normalised Wasserstein distance of the texts' lengths in characters (0.1).
- **vocabulary**: the share of the current tokens that the reference never used. Sampling alone
  gives some (rare words), so it is compared with the rate of one half of the reference
  against the other half (rows alternate); it drifts when it is more than double that and over
  5 points above it.
- **language mix**: the drift of the data's language field, as a category, when the data has
  one. liveops does not guess languages from the text (a detector is out of scope here).
- **new frequent terms**: terms at least ``min_ratio`` times more common (per token) now than
  in the reference (which gets half a count for a term it never had), seen at least
  ``min_count`` times, listed with their counts. They explain a drift; they do not decide one.

Tokens are runs of word characters, lower-cased, as in the stored profile.

>>> ref = ["where is my order", "refund please", "order late again"] * 50
>>> cur = ["bitcoin refund scam bitcoin wallet now"] * 60 + ref[:90]
>>> d = text_drift("message", ref, cur)
>>> d.drifted, d.text.oov_drifted, [t.term for t in d.text.new_terms][:2]
(True, True, ['bitcoin', 'now'])
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from liveops.core.drift.categorical import categorical_drift, count_values
from liveops.core.drift.numeric import numeric_drift
from liveops.core.drift.result import ColumnDrift, NewTerm, Role, TextDrift
from liveops.core.profile import is_missing

__all__ = ["MIN_COUNT", "MIN_RATIO", "OOV_POINTS", "Vocabulary", "text_drift", "vocabulary"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
MIN_RATIO = 5.0
MIN_COUNT = 5
MAX_TERMS = 20
OOV_POINTS = 0.05


def _tokens(texts: Sequence[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for t in texts:
        out.update(_TOKEN.findall(t.lower()))
    return out


@dataclass(frozen=True)
class Vocabulary:
    """A reference text column's tokens and the out-of-vocabulary rate sampling alone gives
    (one half against the other): what every comparison with that reference reads, computed
    once (:func:`vocabulary`) when it is compared many times (the monitor's windows and
    slices)."""

    tokens: Counter[str]
    expected_oov: float


def vocabulary(reference: Sequence[Any]) -> Vocabulary:
    """The :class:`Vocabulary` of a reference text column.

    >>> v = vocabulary(["a b", "b c", None])
    >>> sorted(v.tokens.items()), v.expected_oov
    ([('a', 1), ('b', 2), ('c', 1)], 0.5)
    """
    ref = [str(t) for t in reference if not is_missing(t)]
    expected = _oov(_tokens(ref[0::2]), _tokens(ref[1::2])) if len(ref) > 1 else 0.0
    return Vocabulary(_tokens(ref), expected)


def _oov(vocabulary: Counter[str], tokens: Counter[str]) -> float:
    total = sum(tokens.values())
    if not total:
        return 0.0
    return sum(n for t, n in tokens.items() if t not in vocabulary) / total


def _new_terms(ref: Counter[str], cur: Counter[str], min_ratio: float) -> tuple[NewTerm, ...]:
    n_ref = max(sum(ref.values()), 1)
    n_cur = max(sum(cur.values()), 1)
    # "Frequent" grows with the sample: at least MIN_COUNT, and 1 in 2,000 tokens.
    floor = max(MIN_COUNT, math.ceil(n_cur / 2000))
    found = []
    for term, c in cur.items():
        if c < floor:
            continue
        r = ref.get(term, 0)
        ratio = (c / n_cur) / (max(r, 0.5) / n_ref)
        if ratio >= min_ratio:
            found.append(NewTerm(term, c, r, round(ratio, 3)))
    found.sort(key=lambda t: (-t.current_count, t.term))
    return tuple(found[:MAX_TERMS])


def text_drift(
    column: str,
    reference: Sequence[Any],
    current: Sequence[Any],
    *,
    reference_languages: Sequence[Any] | None = None,
    current_languages: Sequence[Any] | None = None,
    min_ratio: float = MIN_RATIO,
    role: Role = "input",
    reference_vocabulary: Vocabulary | None = None,
) -> ColumnDrift:
    """One text column's drift; its statistic is the length's normalised Wasserstein distance.

    The column drifts when its length, its out-of-reference vocabulary rate or (when languages
    are given) its language mix drifts. ``reference_vocabulary`` is the reference's
    :func:`vocabulary`, when it was computed already (the result is the same).
    """
    ref = [str(t) for t in reference if not is_missing(t)]
    cur = [str(t) for t in current if not is_missing(t)]
    length = numeric_drift(
        column,
        np.fromiter((len(t) for t in ref), dtype=np.float64, count=len(ref)),
        np.fromiter((len(t) for t in cur), dtype=np.float64, count=len(cur)),
        role=role,
    )
    vocab = reference_vocabulary or vocabulary(ref)
    ref_tokens, cur_tokens, expected = vocab.tokens, _tokens(cur), vocab.expected_oov
    oov = _oov(ref_tokens, cur_tokens)
    oov_drifted = bool(cur_tokens) and oov > 2 * expected and oov - expected > OOV_POINTS
    language = None
    if reference_languages is not None and current_languages is not None:
        rc, rm = count_values(reference_languages)
        cc, cm = count_values(current_languages)
        language = categorical_drift(
            f"{column}.language", rc, cc, reference_missing=rm, current_missing=cm, role=role
        )
    parts = TextDrift(
        length=length,
        oov_rate=oov,
        oov_expected=expected,
        oov_drifted=oov_drifted,
        new_terms=_new_terms(ref_tokens, cur_tokens, min_ratio),
        language=language,
    )
    drifted: bool | None = length.drifted
    if drifted is not None:
        drifted = drifted or oov_drifted or bool(language is not None and language.drifted)
    why = [
        name
        for name, hit in (
            ("length", length.drifted),
            ("vocabulary", oov_drifted),
            ("language mix", language is not None and language.drifted),
        )
        if hit
    ]
    note = length.note or (f"drifted on: {', '.join(why)}" if why else "")
    return ColumnDrift(
        column=column,
        kind="text",
        role=role,
        method="text",
        statistic=length.statistic,
        threshold=length.threshold,
        drifted=drifted,
        reference_size=length.reference_size,
        current_size=length.current_size,
        reference_missing=len(reference) - len(ref),
        current_missing=len(current) - len(cur),
        histogram=length.histogram,
        text=parts,
        note=note,
    )
