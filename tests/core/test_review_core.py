"""Rubric parsing, Cohen's kappa (liveops uses scikit-learn's; cross-checked against
statsmodels), sampling, readiness."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import yaml

from liveops.core.readiness import Readiness, ReadinessCheck
from liveops.core.review.agreement import ScoreRow, agreement, cohen_kappa
from liveops.core.review.items import CaseForReview, sample_for_review, stratum_of
from liveops.core.review.rubric import parse_rubric
from liveops.errors import InvalidInputError

SUITE_RUBRIC = """
review:
  rubric:
    - {name: correct_route, scale: [yes, no]}
    - {name: needs_human, scale: [yes, no]}
    - {name: failure_type, choices: [wrong_team, ambiguous_message, new_topic, language, other]}
    - {name: likely_cause, choices: [data, preprocessing, model, threshold, other]}
    - {name: clarity, scale: [1, 2, 3, 4, 5]}
"""


def test_the_example_rubric_reads_yes_and_no_as_written() -> None:
    rubric = parse_rubric(yaml.safe_load(SUITE_RUBRIC)["review"]["rubric"])
    assert rubric.names[:2] == ("correct_route", "needs_human")
    assert rubric.item("correct_route").values == ("yes", "no")
    assert rubric.item("clarity").values == ("1", "2", "3", "4", "5")
    assert rubric.check_scores({"correct_route": "YES", "clarity": 3}) == {
        "correct_route": "yes",
        "clarity": "3",
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "non-empty list"),
        ([{"name": "x"}], "exactly one of 'scale' or 'choices'"),
        ([{"name": "x", "scale": ["a"]}], "at least two answers"),
        ([{"name": "x", "scale": ["a", "A"]}], "distinct"),
        ([{"name": "x", "scale": ["a", "b"], "weight": 2}], "unknown field 'weight'"),
        ([{"name": "Bad Name", "scale": ["a", "b"]}], "not a valid rubric item name"),
        ([{"name": "x", "scale": ["a", "b"]}, {"name": "x", "choices": ["c", "d"]}], "twice"),
    ],
)
def test_a_malformed_rubric_is_refused_with_the_field_named(items: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_rubric(items)


def test_scores_name_known_items_and_allowed_answers() -> None:
    rubric = parse_rubric([{"name": "correct_route", "scale": ["yes", "no"]}])
    with pytest.raises(InvalidInputError, match=r"no item 'tone' \(items: correct_route\)"):
        rubric.check_scores({"tone": "ok"})
    with pytest.raises(InvalidInputError, match=r"'maybe' is not an answer .* yes, no"):
        rubric.check_scores({"correct_route": "maybe"})
    with pytest.raises(InvalidInputError, match="no scores given"):
        rubric.check_scores({})


def _statsmodels_kappa(a: list[str], b: list[str]) -> float:
    """The independent oracle: statsmodels' kappa from the two raters' contingency table."""
    from statsmodels.stats.inter_rater import cohens_kappa

    labels = sorted(set(a) | set(b))
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b, strict=True):
        table[labels.index(x), labels.index(y)] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(cohens_kappa(table).kappa)


@pytest.mark.parametrize("seed", range(25))
def test_kappa_equals_statsmodels(seed: int) -> None:
    rng = random.Random(seed)
    labels = ["yes", "no", "maybe"][: rng.choice([2, 3])]
    n = rng.randint(2, 60)
    a = [rng.choice(labels) for _ in range(n)]
    # The second rater mostly agrees: kappa spans poor to perfect across seeds.
    b = [x if rng.random() < rng.random() else rng.choice(labels) for x in a]
    ours = cohen_kappa(a, b)
    theirs = _statsmodels_kappa(a, b)
    if ours is None:
        assert math.isnan(theirs) or len(set(a) | set(b)) == 1
    else:
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_kappa_is_undefined_when_both_gave_one_answer_only() -> None:
    assert cohen_kappa(["yes"] * 4, ["yes"] * 4) is None
    assert cohen_kappa([], []) is None


def test_agreement_pairs_reviewers_on_shared_items_only() -> None:
    rows = [ScoreRow(f"i{i}", "ann", "route", v) for i, v in enumerate("yynny")]
    rows += [ScoreRow(f"i{i}", "bob", "route", v) for i, v in enumerate("ynnn")]  # not i4
    rows += [ScoreRow("i9", "cyd", "route", "y")]  # shares nothing with anyone
    report = agreement(rows, ["route", "tone"])
    route = report.item("route")
    assert [p.reviewers for p in route.pairs] == [("ann", "bob")]
    pair = route.pairs[0]
    assert pair.n == 4
    assert pair.observed == pytest.approx(0.75)
    assert pair.kappa == pytest.approx(_statsmodels_kappa(list("yynn"), list("ynnn")))
    assert route.answers == {"n": 5, "y": 5}
    assert report.item("tone").pairs == ()
    assert report.item("tone").mean_kappa is None
    assert report.reviewers == ("ann", "bob", "cyd")


def _cases() -> list[CaseForReview]:
    out = []
    for i in range(100):
        correct = i % 10 != 0  # 10 failures
        out.append(CaseForReview(f"c{i}", correct=correct, confidence=(i % 7) / 7))
    return out


def test_sampling_leans_toward_failures_and_low_confidence_and_is_seeded() -> None:
    cases = _cases()
    picked = sample_for_review(cases, 20, seed=3, low_confidence=0.3)
    strata = [stratum_of(c, 0.3) for c in picked]
    assert len(picked) == len({c.case_ref for c in picked}) == 20
    assert strata.count("failure") == 10  # half the sample, and all there are
    assert strata.count("low_confidence") == 5
    assert picked == sample_for_review(cases, 20, seed=3, low_confidence=0.3)
    assert picked != sample_for_review(cases, 20, seed=4, low_confidence=0.3)


def test_sampling_tops_up_from_other_strata_and_never_exceeds_the_run() -> None:
    only_right = [CaseForReview(f"c{i}", correct=True, confidence=0.9) for i in range(5)]
    assert len(sample_for_review(only_right, 3, seed=0, low_confidence=0.5)) == 3
    assert len(sample_for_review(only_right, 50, seed=0, low_confidence=0.5)) == 5
    errored = CaseForReview("e", correct=None, confidence=None, error="ValueError")
    assert stratum_of(errored, 0.5) == "failure"


def test_readiness_failure_wins_over_missing() -> None:
    def view(*statuses: str) -> Readiness:
        return Readiness(
            "s@1", tuple(ReadinessCheck("g", f"c{i}", s, "") for i, s in enumerate(statuses))
        )  # type: ignore[arg-type]

    assert view("pass", "pass").exit_code == 0
    assert view("pass", "missing").exit_code == 3
    assert view("missing", "fail").exit_code == 1
    assert view().status == "missing"
    assert view("pass", "fail", "fail").counts() == {
        "pass": 1,
        "fail": 2,
        "missing": 0,
        "not_applicable": 0,
    }
