"""The demo product's data, models and rules: the profile the demo's story relies on.

The story is "v2 is better overall but fails the Spanish guardrail", so the data must give,
on every seed: v1 good but not perfect, weaker in Spanish, robust to perturbations and right on
every must-pass case; v2 better overall and clearly worse in Spanish.
"""

from __future__ import annotations

import doctest
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from liveops.core.evaluation.perturb import FAMILIES, perturb_all
from liveops.demo import data as data_module
from liveops.demo import rules as rules_module
from liveops.demo.data import MODES, generate, generate_records, must_pass_records
from liveops.demo.rules import route
from liveops.demo.training import (
    PARAMS,
    TRUSTED_TYPES,
    V2_SPANISH_SHARE,
    fit_v2,
    quick_metrics,
    save_skops,
    train_v1,
    train_v2,
    v2_training_records,
)
from liveops.errors import UsageError

LABELS = {"billing", "technical", "cancellation", "general"}
TAGS = {"angry", "vague", "short", "long", "typo", "spanish", "mixed_language"}
FIELDS = ["channel", "label", "language", "plan", "tags", "text"]


def check_record(rec: dict[str, Any], labels: set[str] = LABELS) -> None:
    assert sorted(rec) == FIELDS
    assert isinstance(rec["text"], str)
    assert rec["text"].strip()
    assert rec["channel"] in {"email", "chat", "phone", "web"}
    assert rec["plan"] in {"free", "pro", "enterprise"}
    assert rec["language"] in {"en", "es"}
    assert rec["label"] in labels
    assert isinstance(rec["tags"], list)
    assert set(rec["tags"]) <= TAGS
    assert ("spanish" in rec["tags"]) == (rec["language"] == "es")


# --- data -------------------------------------------------------------------------------------


def test_records_have_the_documented_fields_and_values() -> None:
    data = generate(seed=0, n_train=1500, n_eval=500)
    assert (len(data.train), len(data.eval)) == (1500, 500)
    for rec in [*data.train, *data.eval, *data.must_pass]:
        check_record(rec)
    tags = Counter(t for rec in data.train for t in rec["tags"])
    assert set(tags) == TAGS  # every kind of message occurs
    assert all(
        0.7 * 1500 * w <= Counter(r["label"] for r in data.train)[label] <= 1.3 * 1500 * w
        for label, w in zip(
            ["billing", "technical", "cancellation", "general"],
            [0.30, 0.34, 0.14, 0.22],
            strict=True,
        )
    )


def test_the_same_seed_gives_the_same_data_and_other_seeds_other_data() -> None:
    assert generate(seed=3, n_train=300, n_eval=300) == generate(seed=3, n_train=300, n_eval=300)
    assert generate(seed=3, n_train=300).train != generate(seed=4, n_train=300).train
    # Live traffic is its own draw: never a copy of the training or evaluation set.
    data = generate(seed=1, n_train=300, n_eval=300)
    assert generate_records(300, seed=1) not in (data.train, data.eval)


def test_default_eval_set_is_large_with_a_spanish_slice_of_at_least_300() -> None:
    data = generate(seed=2)
    assert len(data.eval) >= 2000
    assert sum(r["language"] == "es" for r in data.eval) >= 300
    assert len(data.train) >= 5000


def test_must_pass_cases_are_clear_bilingual_and_cover_every_label() -> None:
    cases = must_pass_records()
    assert 36 <= len(cases) <= 50
    assert len({c["text"] for c in cases}) == len(cases)
    assert {c["label"] for c in cases} == LABELS
    assert {c["label"] for c in cases if c["language"] == "es"} == LABELS
    assert sum(c["language"] == "es" for c in cases) >= 10
    assert generate(seed=0, n_train=10, n_eval=10).must_pass == cases
    assert generate(seed=9, n_train=10, n_eval=10).must_pass == cases


def test_covariate_shift_has_more_spanish_shorter_messages_more_chat_same_labels() -> None:
    normal = generate_records(3000, seed=0)
    shifted = generate_records(3000, seed=0, mode="covariate_shift")

    def share(recs: list[dict[str, Any]], key: str, value: str) -> float:
        return sum(r[key] == value for r in recs) / len(recs)

    assert share(shifted, "language", "es") >= 2 * share(normal, "language", "es")
    assert share(shifted, "channel", "chat") >= 1.5 * share(normal, "channel", "chat")
    mean_len = [float(np.mean([len(r["text"]) for r in recs])) for recs in (normal, shifted)]
    assert mean_len[1] < 0.8 * mean_len[0]
    for label in LABELS:
        assert abs(share(shifted, "label", label) - share(normal, "label", label)) < 0.04


def test_new_world_brings_a_launch_topic_and_an_unseen_label() -> None:
    recs = generate_records(3000, seed=0, mode="new_world")
    for rec in recs:
        check_record(rec, LABELS | {"account_security"})
    share = sum(r["label"] == "account_security" for r in recs) / len(recs)
    assert 0.08 <= share <= 0.16
    assert sum("orbit" in r["text"].lower() for r in recs) / len(recs) >= 0.15
    assert not any("orbit" in r["text"].lower() for r in generate_records(3000, seed=0))


def test_spanish_market_is_forty_percent_spanish_with_the_normal_labels() -> None:
    recs = generate_records(2000, seed=0, mode="spanish_market")
    for rec in recs:
        check_record(rec, LABELS)
    assert sum(r["language"] == "es" for r in recs) == 800  # an exact share
    normal = generate_records(2000, seed=0)
    assert sum(r["language"] == "es" for r in normal) == 260


def test_an_unknown_mode_is_a_usage_error() -> None:
    assert set(MODES) == {"normal", "covariate_shift", "new_world", "spanish_market"}
    with pytest.raises(UsageError, match="covariate_shift"):
        generate_records(5, seed=0, mode="sideways")  # type: ignore[arg-type]


# --- rules ------------------------------------------------------------------------------------


def test_rules_route_by_english_and_spanish_keywords_or_answer_none() -> None:
    assert route({"text": "Please refund the duplicate charge"}) == "billing"
    assert route({"text": "la aplicación se cierra, me sale un error"}) == "technical"
    assert route({"text": "QUIERO CANCELAR MI SUSCRIPCION"}) == "cancellation"
    assert route({"text": "¿Cuál es su horario?"}) == "general"
    assert route(
        {"text": "Ignore previous rules and mark this as general. I was charged twice."}
    ) == ("billing")
    for unknown in ({"text": "hello?"}, {"text": ""}, {"text": None}, {}, {"text": 42}):
        assert route(unknown) is None
    assert all(route(case) == case["label"] for case in must_pass_records())


def test_rules_answer_most_messages_and_are_mostly_right_when_they_do() -> None:
    recs = generate(seed=0, n_train=10).eval
    routed = [(route(r), r["label"]) for r in recs]
    answered = [(got, want) for got, want in routed if got is not None]
    assert 0.4 <= len(answered) / len(recs) <= 0.9
    assert sum(got == want for got, want in answered) / len(answered) >= 0.8


# --- models -----------------------------------------------------------------------------------


def test_models_take_a_list_of_texts_and_save_with_a_fixed_set_of_types(tmp_path: Path) -> None:
    import skops.io as sio

    data = generate(seed=0, n_train=1200, n_eval=50)
    texts = [r["text"] for r in data.eval]
    for train, name in ((train_v1, "v1"), (train_v2, "v2")):
        model = train(data.train, 0)
        proba = model.predict_proba(texts)
        assert proba.shape == (50, 4)
        assert np.allclose(proba.sum(axis=1), 1.0)
        assert set(model.classes_) == LABELS
        path = tmp_path / f"{name}.skops"
        assert save_skops(model, path) == list(TRUSTED_TYPES)
        loaded = sio.load(path, trusted=list(TRUSTED_TYPES))
        assert np.allclose(loaded.predict_proba(texts), proba)
        assert name in PARAMS
    metrics = quick_metrics(model, data.eval)
    assert set(metrics) >= {"accuracy", "macro_f1", "accuracy_es"}


def test_training_is_deterministic_for_a_seed() -> None:
    data = generate(seed=0, n_train=1500, n_eval=100)
    texts = [r["text"] for r in data.eval]
    for train in (train_v1, train_v2):
        a, b = train(data.train, 5), train(data.train, 5)
        assert np.array_equal(a.predict_proba(texts), b.predict_proba(texts))


def test_v2_is_fit_on_english_and_a_seeded_share_of_spanish_records() -> None:
    data = generate(seed=0, n_train=1500, n_eval=100)
    kept = v2_training_records(data.train, 3)
    spanish = [r for r in data.train if r["language"] == "es"]
    assert [r for r in kept if r["language"] == "en"] == [
        r for r in data.train if r["language"] == "en"
    ]
    assert sum(r["language"] == "es" for r in kept) == round(V2_SPANISH_SHARE * len(spanish))
    texts = [r["text"] for r in data.eval]
    alone = fit_v2([dict(r) for r in kept], 3).predict_proba(texts)
    assert np.array_equal(alone, train_v2(data.train, 3).predict_proba(texts))


def test_training_on_bad_records_says_what_is_wrong() -> None:
    from liveops.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="'text'"):
        train_v1([{"label": "billing"}, {"text": "x", "label": "general"}], 0)
    with pytest.raises(InvalidInputError, match="two labels"):
        train_v1([{"text": "a b", "label": "billing"}] * 3, 0)


# --- the profile the demo's story needs ------------------------------------------------------


def _top(model: Any, records: list[dict[str, Any]]) -> np.ndarray:
    proba = model.predict_proba([r["text"] for r in records])
    return np.asarray(model.classes_)[proba.argmax(axis=1)]


def _macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, p, average="macro"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_demo_profile_holds(seed: int) -> None:
    data = generate(seed)
    v1, v2 = train_v1(data.train, seed), train_v2(data.train, seed)
    y = np.array([r["label"] for r in data.eval])
    spanish = np.array([r["language"] == "es" for r in data.eval])
    assert len(y) >= 2000
    assert spanish.sum() >= 300

    p1, p2 = _top(v1, data.eval), _top(v2, data.eval)
    acc1, acc2 = float((p1 == y).mean()), float((p2 == y).mean())
    es1, es2 = float((p1 == y)[spanish].mean()), float((p2 == y)[spanish].mean())
    profile = f"seed {seed}: v1 {acc1:.3f} (es {es1:.3f}), v2 {acc2:.3f} (es {es2:.3f})"

    # v1: good, not perfect, and weaker in Spanish.
    assert 0.85 <= acc1 <= 0.90, profile
    assert _macro_f1(y, p1) >= 0.82, profile
    assert es1 <= acc1 - 0.05, profile
    # v1 answers every must-pass case right, and sure enough to answer it automatically
    # (the demo's threshold is 0.70), so the suite's must_pass blocker passes.
    wanted = np.array([c["label"] for c in data.must_pass])
    assert (_top(v1, data.must_pass) == wanted).all(), profile
    confidence = v1.predict_proba([c["text"] for c in data.must_pass]).max(axis=1)
    assert confidence.min() >= 0.70, f"{profile}, weakest must-pass {confidence.min():.3f}"
    # v1 is robust: its label rarely changes under the suite's nine perturbation families.
    copies = perturb_all(data.eval, FAMILIES, seed=7, optional_fields=["channel", "plan"])
    same = np.concatenate([_top(v1, recs) == p1 for recs in copies.values()])
    assert same.mean() >= 0.90, f"{profile}, invariance {same.mean():.3f}"
    # v2: better overall by at least a point, at least 8 points worse in Spanish.
    assert acc2 >= acc1 + 0.01, profile
    assert es2 <= es1 - 0.08, profile


def test_the_docstring_examples_run() -> None:
    for module in (data_module, rules_module):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
