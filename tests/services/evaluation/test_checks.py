"""The checks beside accuracy, through the service API: robustness per perturbation family,
consistency of repeated answers, and reviewed cases promoted into the regression dataset.

One small project for the module, served by entry-point models (nothing is trained):

- ``router`` reads ``text`` and the optional ``channel``; its model answers ``billing`` only
  when a channel is given, so dropping the channel changes answers;
- ``texts`` reads only ``text``; its model is case-sensitive, so casing changes answers.
  ``texts@2`` answers a random label (seeded), ``texts@3`` raises on blank pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liveops.core.evaluation.summary import ConsistencyResult
from liveops.services import review as rv
from liveops.services.datasets import add_dataset, load_records
from liveops.services.registry import apply_project, load_project, register_version
from liveops.services.review import promote
from liveops.services.review.queue import MAX_SAMPLE
from liveops.store import open_store
from tests.services.evaluation.project import Project

MODULE = "evalchecks_models"

PROJECT = """
services:
  - name: router
    owner: team@example.com
    inputs:
      text: {type: string, required: true}
      channel: {type: string}
      language: {type: string}
    model_inputs: [text, channel]
    output: {labels: [billing, technical]}
    decision: {threshold: 0.6, below_threshold: human_review}
    suite: suite.yaml
  - name: texts
    owner: team@example.com
    inputs:
      text: {type: string, required: true}
      channel: {type: string}
      language: {type: string}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision: {threshold: 0.6, below_threshold: human_review}
    suite: suite.yaml
"""

SUITE = """
cases: {dataset: eval-cases, must_pass: {dataset: must-cases}}
metrics: [accuracy]
robustness: {perturbations: [casing, drop_optional], seed: 3}
consistency: {cases: 24, repeats: 3}  # every case
gates:
  - {metric: robustness.invariance, min: 0.0, kind: signal}
latency_calls: 3
review:
  rubric:
    - {name: correct_route, scale: [yes, no]}
"""

MODELS = """
import random

BILLING = ("charge", "refund", "invoice")


class ChannelAware:
    classes = ("billing", "technical")

    def predict_batch(self, records):
        out = []
        for r in records:
            text = str(r.get("text") or "").lower()
            billing = r.get("channel") and any(w in text for w in BILLING)
            label = "billing" if billing else "technical"
            other = "technical" if label == "billing" else "billing"
            out.append({"label": label, "scores": {label: 0.9, other: 0.1}})
        return out


class CaseSensitive:
    classes = ("billing", "technical")

    def predict_batch(self, records):
        out = []
        for r in records:
            text = str(r.get("text") or "")
            label = "billing" if any(w in text for w in BILLING) else "technical"
            other = "technical" if label == "billing" else "billing"
            out.append({"label": label, "scores": {label: 0.9, other: 0.1}})
        return out


class RandomLabel:
    classes = ("billing", "technical")

    def __init__(self):
        self.rng = random.Random(7)

    def predict_batch(self, records):
        return [{"label": self.rng.choice(self.classes)} for _ in records]


class RaisesOnBlank(CaseSensitive):
    def predict_batch(self, records):
        if any("blank" in str(r.get("text")) for r in records):
            raise ValueError("cannot read a blank page")
        return super().predict_batch(records)


def random_label():
    return RandomLabel()


def raises_on_blank():
    return RaisesOnBlank()


def channel_aware():
    return ChannelAware()


def case_sensitive():
    return CaseSensitive()
"""

ROWS = [
    ("charged twice on my card", "billing", "en", "email"),
    ("refund my invoice please", "billing", "en", "chat"),
    ("app crashes on login", "technical", "en", "chat"),
    ("error 500 when saving", "technical", "en", ""),
    ("invoice total looks wrong", "billing", "en", "email"),
    ("the page is blank", "technical", "en", "email"),
]
CASES = ROWS * 4


def _csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.write_text(
        "text,label,language,channel\n" + "".join(",".join(r) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("eval-checks")
    (root / "liveops.yaml").write_text(PROJECT)
    (root / "suite.yaml").write_text(SUITE)
    (root / f"{MODULE}.py").write_text(MODELS)
    store = open_store("sqlite://", project_dir=root, artifacts_root=root / "artifacts")
    try:
        apply_project(store, load_project(root), actor="setup")
        add_dataset(store, _csv(root / "eval.csv", CASES), name="eval-cases", actor="setup")
        add_dataset(store, _csv(root / "must.csv", ROWS[:2]), name="must-cases", actor="setup")
        for service, factory in (
            ("router", "channel_aware"),
            ("texts", "case_sensitive"),
            ("texts", "random_label"),
            ("texts", "raises_on_blank"),
        ):
            register_version(
                store, service, actor="setup", entrypoint=f"{MODULE}:{factory}", cwd=root
            )
        yield Project(root, store)
    finally:
        store.close()


def test_drop_optional_drops_the_optional_fields_the_model_reads(project: Project) -> None:
    rob = project.eval("router@1").summary.robustness
    assert rob is not None
    dropped = rob.families["drop_optional"]
    # every case with a channel lost it and was asked again; the billing ones among them flip
    with_channel = sum(1 for r in CASES if r[3])
    flipped = sum(1 for r in CASES if r[3] and r[1] == "billing")
    assert dropped.predicted == with_channel
    assert dropped.invariance == pytest.approx(1 - flipped / len(CASES))
    assert rob.not_applicable == {}


def test_drop_optional_is_not_applicable_when_the_model_reads_no_optional_field(
    project: Project,
) -> None:
    result = project.eval("texts@1")
    rob = result.summary.robustness
    assert rob is not None
    assert "drop_optional" not in rob.families
    assert "the model sees no optional field" in rob.not_applicable["drop_optional"]
    casing = rob.families["casing"]
    assert casing.invariance < 1.0  # the case-sensitive model notices casing
    # the overall value is casing's alone, not averaged with a free 1.000
    assert rob.invariance == pytest.approx(casing.invariance)
    assert result.summary.builtins["robustness.invariance"].value == pytest.approx(
        casing.invariance
    )
    # only the copies actually asked are counted as predictions
    assert rob.predictions == casing.predicted < len(CASES) * 2


def test_consistency_of_a_deterministic_model_is_1(project: Project) -> None:
    consistency = project.eval("texts@1").summary.consistency
    assert consistency == ConsistencyResult(cases=len(CASES), repeats=3, agreement=1.0)


def test_a_model_answering_at_random_is_not_consistent(project: Project) -> None:
    summary = project.eval("texts@2").summary
    assert summary.consistency is not None
    assert summary.consistency.agreement < 0.9
    assert summary.builtins["consistency"].value == summary.consistency.agreement


def test_a_model_error_counts_as_a_disagreement(project: Project) -> None:
    # the blank-page cases raise on every repeat: no answer ever agrees with another
    blank = sum("blank" in r[0] for r in CASES)
    consistency = project.eval("texts@3").summary.consistency
    assert consistency is not None
    assert consistency.agreement == pytest.approx(1 - blank / len(CASES))


def test_a_reviewed_must_pass_case_can_be_promoted(project: Project) -> None:
    run = project.eval("router@1").run
    _, items = rv.create_review(
        project.store, run.id, sample=MAX_SAMPLE, actor="ann", project_dir=project.root
    )
    must = [i for i in items if i.case_ref.startswith("must_pass:")]
    assert len(must) == 2  # the whole run is sampled, its must-pass cases too
    item = must[0]
    assert "label" not in item.inputs  # the expected label is not an input
    rv.submit(project.store, item.id, "ann", {"correct_route": "yes"})
    dataset, created = promote(project.store, item.id, actor="ann")
    assert created
    assert dataset.ref == "router-regression@1"
    (row,) = load_records(project.store, dataset)
    assert row["label"] == item.expected
    assert row["text"] == item.inputs["text"]
    assert row["review_item"] == item.id
    # the next evaluation runs it as one more must-pass case
    again = project.eval("router@1").summary.must_pass
    assert again is not None
    assert again.dataset == "must-cases@1 + router-regression@1"
    assert again.cases == 3
