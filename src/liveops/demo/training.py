"""Train the demo's two support-router models: TF-IDF + logistic regression pipelines.

Both pipelines hold their preprocessing, take a 1-D list of message texts and answer
``predict_proba(texts)`` with one column per label in ``pipeline.classes_``. The model sees
only the ``text`` field.

- **v1**, the launch model: word unigrams, keeping only words seen in at least ten messages
  (a small, safe vocabulary), trained on every training record.
- **v2**, the retrain: word uni- and bigrams plus character n-grams, rare words kept, a
  weaker regulariser, trained on a newer collection that is almost all English: it keeps
  only 7 % of the Spanish messages. It is better overall and clearly worse in Spanish, the
  regression the suite's Spanish guardrail exists to catch.
- **v3**, the fix after v2's rollout rolled back: v2's features, trained on every training
  record plus more Spanish ones (:data:`V3_EXTRA_SPANISH` messages labelled by the Spanish
  support team, :func:`v3_training_records`): better than v1 overall and in Spanish.

>>> from liveops.demo.data import generate
>>> data = generate(seed=0, n_train=600, n_eval=10)
>>> model = train_v1(data.train, seed=0)
>>> model.predict_proba([r["text"] for r in data.eval]).shape
(10, 4)
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from liveops.errors import InvalidInputError

__all__ = [
    "PARAMS",
    "TRUSTED_TYPES",
    "V2_SPANISH_SHARE",
    "V3_EXTRA_SPANISH",
    "fit_v2",
    "quick_metrics",
    "save_skops",
    "train_v1",
    "train_v2",
    "v2_training_records",
    "v3_training_records",
]

# v2's training set keeps this share of the Spanish messages (an English-heavy collection).
V2_SPANISH_SHARE: Final = 0.07

# v3's training set adds this many Spanish messages to every record of v1's.
V3_EXTRA_SPANISH: Final = 2600

# What each version's training did, for its lineage (``register_version(params=...)``).
PARAMS: Final[dict[str, dict[str, Any]]] = {
    "v1": {
        "model": "tfidf + logistic_regression",
        "features": "word unigrams, min_df=10, sublinear tf",
        "C": 1.0,
        "solver": "newton-cg",
        "training_data": "all training records",
    },
    "v2": {
        "model": "tfidf + logistic_regression",
        "features": "word 1-2 grams (min_df=2) + char_wb 3-5 grams (min_df=2), accents stripped",
        "C": 5.0,
        "solver": "newton-cg",
        "training_data": f"English records + {V2_SPANISH_SHARE:.0%} of the Spanish records",
    },
    "v3": {
        "model": "tfidf + logistic_regression",
        "features": "word 1-2 grams (min_df=2) + char_wb 3-5 grams (min_df=2), accents stripped",
        "C": 5.0,
        "solver": "newton-cg",
        "training_data": f"all training records + {V3_EXTRA_SPANISH:,} more Spanish records",
    },
}

# Types inside the demo pipelines that skops does not trust by default; loading passes them
# as ``trusted=``. A test pins this list, so a new type in a pipeline is a conscious change.
TRUSTED_TYPES: Final[tuple[str, ...]] = ()


def train_v1(train_records: Sequence[Mapping[str, Any]], seed: int) -> Any:
    """Fit v1, the launch model, on every record: word unigrams seen in >= 10 messages.

    Returns a fitted ``sklearn.pipeline.Pipeline``. ``seed`` fixes the solver's randomness.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts, labels = _training_set(train_records)
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(sublinear_tf=True, min_df=10)),
            # newton-cg: ~10x faster than lbfgs on these sparse features, same optimum.
            (
                "clf",
                LogisticRegression(C=1.0, solver="newton-cg", max_iter=1000, random_state=seed),
            ),
        ]
    )
    pipeline.fit(texts, labels)
    return pipeline


def v2_training_records(
    train_records: Sequence[Mapping[str, Any]], seed: int
) -> list[Mapping[str, Any]]:
    """v2's training set: every English record and 7 % of the Spanish ones, in their order.

    Which Spanish records stay is decided by ``seed``.
    """
    spanish = [r for r in train_records if r.get("language") == "es"]
    kept = random.Random(seed).sample(range(len(spanish)), round(V2_SPANISH_SHARE * len(spanish)))
    kept_ids = {id(spanish[i]) for i in kept}
    return [r for r in train_records if r.get("language") != "es" or id(r) in kept_ids]


def v3_training_records(
    train_records: Sequence[Mapping[str, Any]], seed: int
) -> list[Mapping[str, Any]]:
    """v3's training set: every record of ``train_records`` and :data:`V3_EXTRA_SPANISH` more
    Spanish messages, drawn from the normal world with a stream of their own.

    >>> from liveops.demo.data import generate
    >>> train = generate(seed=0, n_train=50, n_eval=1).train
    >>> recs = v3_training_records(train, seed=0)
    >>> len(recs) - len(train), {r["language"] for r in recs[len(train):]}
    (2600, {'es'})
    """
    from liveops.demo.data import generate_records

    extra: list[Mapping[str, Any]] = []
    draw = 0
    while len(extra) < V3_EXTRA_SPANISH:  # the normal world is 13 % Spanish
        pool = generate_records(4 * V3_EXTRA_SPANISH, seed * 1000 + 900 + draw)
        extra += [r for r in pool if r.get("language") == "es"]
        draw += 1
    return [*train_records, *extra[:V3_EXTRA_SPANISH]]


def train_v2(train_records: Sequence[Mapping[str, Any]], seed: int) -> Any:
    """Fit v2, the retrain: richer features, on English plus 7 % of the Spanish records.

    The same as ``fit_v2(v2_training_records(train_records, seed), seed)``.
    """
    return fit_v2(v2_training_records(train_records, seed), seed)


def fit_v2(records: Sequence[Mapping[str, Any]], seed: int) -> Any:
    """Fit v2's pipeline on exactly ``records``. Returns a fitted ``Pipeline``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    texts, labels = _training_set(records)

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode"
                ),
            ),
            # Character n-grams read through typos and rare word forms.
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    sublinear_tf=True,
                    min_df=2,
                    strip_accents="unicode",
                ),
            ),
        ]
    )
    pipeline = Pipeline(
        [
            ("features", features),
            (
                "clf",
                LogisticRegression(C=5.0, solver="newton-cg", max_iter=1000, random_state=seed),
            ),
        ]
    )
    pipeline.fit(texts, labels)
    return pipeline


def save_skops(pipeline: Any, path: str | Path) -> list[str]:
    """Write ``pipeline`` with ``skops.io.dump``; return the types skops does not trust.

    For the demo pipelines the answer is :data:`TRUSTED_TYPES`, which loading passes as
    ``trusted=`` (``skops.io.load(path, trusted=list(TRUSTED_TYPES))``).
    """
    import skops.io as sio

    sio.dump(pipeline, str(path))
    return list(sio.get_untrusted_types(file=str(path)))


def quick_metrics(pipeline: Any, records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Accuracy and macro-F1 of the top label on ``records``, overall and in Spanish.

    A quick summary for a version's registry entry; the evaluation suite is the real judge.
    """
    from sklearn.metrics import accuracy_score, f1_score

    texts, labels = _texts_and_labels(records)
    proba = pipeline.predict_proba(texts)
    predicted = [str(pipeline.classes_[i]) for i in proba.argmax(axis=1)]
    spanish = [i for i, r in enumerate(records) if r.get("language") == "es"]
    out = {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
    }
    if spanish:
        out["accuracy_es"] = float(
            accuracy_score([labels[i] for i in spanish], [predicted[i] for i in spanish])
        )
    return out


def _texts_and_labels(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for i, rec in enumerate(records):
        text, label = rec.get("text"), rec.get("label")
        if not isinstance(text, str) or not isinstance(label, str):
            raise InvalidInputError(
                f"training record {i} needs a string 'text' and a string 'label'",
                hint="pass records shaped like liveops.demo.data.generate(...).train",
            )
        texts.append(text)
        labels.append(label)
    return texts, labels


def _training_set(records: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    texts, labels = _texts_and_labels(records)
    if len(set(labels)) < 2:
        raise InvalidInputError(
            f"training needs at least two labels, got {sorted(set(labels))}",
            hint="pass more training records",
        )
    return texts, labels
