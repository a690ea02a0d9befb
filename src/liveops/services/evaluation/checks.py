"""The checks an evaluation runs beside plain accuracy: must-pass cases, behaviour probes,
robustness under perturbation and consistency, each for one :class:`Judge`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.evaluation.perturb import TEXT_FAMILIES, perturb_all
from liveops.core.evaluation.perturb_tabular import (
    TABULAR_FAMILIES,
    ColumnReference,
    column_references,
    tabular_not_applicable,
)
from liveops.core.evaluation.suite import Suite
from liveops.core.model import Model
from liveops.core.project import ServiceSpec
from liveops.core.records import EvalCaseRecord, VersionRecord
from liveops.core.serving.cost import per_answer
from liveops.core.serving.decision import DecisionSettings, RulesFunction
from liveops.services.evaluation.cases import Cases, example_text
from liveops.services.evaluation.predict import Answers, decisions, predict
from liveops.services.registry import load_callable, load_model
from liveops.store import Store

__all__ = ["Judge", "Progress", "consistency", "family_spec", "must_pass", "probes", "robustness"]

Progress = Callable[[str, int, int], None]  # (stage, done, total)

FamilyAnswer = tuple[list[int], list[str | None], list[str | None]]  # changed rows, labels, errors


@dataclass(frozen=True)
class FamilySpec:
    """How a suite's perturbations apply to a version's model inputs.

    ``optional_fields`` are the optional fields the model sees: the ones ``drop_optional``
    removes (dropping a field the model never reads could not change an answer). ``columns``
    are the numeric and categorical model inputs with their reference scales, for the
    tabular families."""

    seed: int
    text_field: str | None
    optional_fields: tuple[str, ...]
    model_inputs: tuple[str, ...]
    columns: Mapping[str, ColumnReference] = field(default_factory=dict)


def family_answers(
    model: Model, records: Sequence[Mapping[str, Any]], family: str, spec: FamilySpec
) -> FamilyAnswer:
    """Perturb ``records`` with ``family`` and answer the copies whose model inputs changed
    (the others keep the original answer: the model would see the same thing)."""
    copies = perturb_all(
        records,
        [family],
        spec.seed,
        text_field=spec.text_field,
        optional_fields=list(spec.optional_fields),
        columns=spec.columns,
    )[family]
    changed = [
        i
        for i, (a, b) in enumerate(zip(records, copies, strict=True))
        if any(a.get(f) != b.get(f) for f in spec.model_inputs)
    ]
    if not changed:
        return [], [], []
    got = predict(model, [copies[i] for i in changed])
    return changed, got.labels, got.errors


class Judge:
    """One version's model with its decision settings, answering the suite."""

    def __init__(
        self, store: Store, version: VersionRecord, spec: ServiceSpec, project_dir: Path
    ) -> None:
        self.version = version
        self.model: Model = load_model(store, version, project_dir=project_dir)
        self.settings = DecisionSettings.from_config(version.config.get("decision"))
        self.cost = per_answer(version.config)  # when the model reports none
        self.rules: RulesFunction | None = None
        if self.settings.rules:
            self.rules = load_callable(self.settings.rules, search_path=project_dir)
        self.labels = tuple(self.model.classes) or tuple(spec.output.labels)
        self.spec = spec


def must_pass(
    suite: Suite, judge: Judge, must: Cases, tell: Progress
) -> tuple[np.ndarray[Any, Any], list[EvalCaseRecord], dict[str, Any]]:
    text_field = must.text_field
    # Without a must_pass block the cases come from the review regression dataset only.
    mp = suite.cases.must_pass
    dcol = mp.decision if mp else "decision"
    # The expected label is not an input: a review shows it apart, and promotion writes it back.
    answer_key = {suite.cases.expected, (mp.expected if mp else None) or suite.cases.expected}
    ans = predict(judge.model, must.records)
    auto = decisions(ans, must.records, judge.settings, rules=judge.rules, text_field=text_field)
    conf = ans.confidence()
    holds = np.zeros(len(must.records))
    records: list[EvalCaseRecord] = []
    failed: list[dict[str, Any]] = []
    for i, rec in enumerate(must.records):
        want_decision = str(rec.get(dcol) or "automatic")
        ok = (
            ans.labels[i] == must.expected[i] and auto[i] == want_decision and ans.errors[i] is None
        )
        holds[i] = float(ok)
        c = None if not np.isfinite(conf[i]) else float(conf[i])
        records.append(
            EvalCaseRecord(
                case_id=must.ids[i],
                source="must_pass",
                inputs={k: v for k, v in rec.items() if k not in answer_key},
                expected=must.expected[i],
                predicted=ans.labels[i],
                confidence=c,
                decision=auto[i],
                correct=ok,
                error=ans.errors[i],
            )
        )
        if not ok:
            failed.append(
                {
                    "case": must.ids[i],
                    "text": example_text(rec, text_field, must.expected_col),
                    "expected": must.expected[i],
                    "expected_decision": want_decision,
                    "predicted": ans.labels[i],
                    "decision": auto[i],
                    "confidence": c,
                    "error": ans.errors[i],
                }
            )
    tell(f"{judge.version.ref}: must-pass", len(must.records), len(must.records))
    summary = {
        "dataset": must.dataset_ref,
        "cases": len(holds),
        "held": int(holds.sum()),
        "failed": failed,
    }
    return holds, records, summary


def probes(
    suite: Suite, judge: Judge, text_field: str | None = None
) -> tuple[np.ndarray[Any, Any], list[EvalCaseRecord], list[dict[str, Any]]]:
    inputs = [dict(p.inputs) for p in suite.probes]
    ans = predict(judge.model, inputs)
    auto = decisions(ans, inputs, judge.settings, rules=judge.rules, text_field=text_field)
    holds = np.zeros(len(inputs))
    records: list[EvalCaseRecord] = []
    out: list[dict[str, Any]] = []
    for i, probe in enumerate(suite.probes):
        exp = probe.expect
        label_ok = exp.label is None or ans.labels[i] == exp.label
        decision_ok = not exp.decision or auto[i] in exp.decision
        ok = label_ok and decision_ok and ans.errors[i] is None
        holds[i] = float(ok)
        expected = exp.label or "decision in " + "|".join(exp.decision or [])
        records.append(
            EvalCaseRecord(
                case_id=f"probe:{probe.name}",
                source="probe",
                inputs=dict(probe.inputs),
                expected=exp.label,
                predicted=ans.labels[i],
                confidence=None,
                decision=auto[i],
                correct=ok,
                error=ans.errors[i],
            )
        )
        out.append(
            {
                "name": probe.name,
                "holds": ok,
                "expected": expected,
                "label": ans.labels[i],
                "decision": auto[i],
                "error": ans.errors[i],
            }
        )
    return holds, records, out


def family_spec(
    suite: Suite,
    judge: Judge,
    text_field: str | None = None,
    reference: Mapping[str, Any] | None = None,
) -> FamilySpec:
    """How the suite's perturbations apply to this version's model inputs; ``reference`` is
    the profile the numeric and categorical families take their scales from."""
    rob = suite.robustness
    assert rob is not None
    used = list(
        judge.version.config.get("model_inputs")
        or judge.spec.model_inputs
        or ([text_field] if text_field else [])
    )
    if rob.optional_fields is not None:
        named = rob.optional_fields
    else:
        inputs = judge.spec.inputs
        named = [f for f in used if not (f in inputs and inputs[f].required)]
    optional = tuple(f for f in named if f in used and f != text_field)
    tabular = [f for f in used if f != text_field]
    columns = column_references(reference or {}, tabular, optional)
    return FamilySpec(rob.seed, text_field, optional, tuple(used), columns)


def _not_applicable(
    family: str, spec: FamilySpec, answer: FamilyAnswer, named: Sequence[str] | None
) -> str | None:
    """Why ``family`` measures nothing for this model, or None when it applies.

    A family that changed no case the model sees is not applicable: counting its unchanged
    copies as perfect invariance would flatter the model (a text family for a model without a
    text field, a numeric one for a model without numbers, optional fields no case has)."""
    if answer[0]:
        return None
    seen = ", ".join(spec.model_inputs) or "nothing"
    if family in TEXT_FAMILIES:
        if spec.text_field is None or spec.text_field not in spec.model_inputs:
            return f"the model reads no text field (it reads: {seen})"
        return f"it changed no case's {spec.text_field!r} (texts too short or without words)"
    if family in TABULAR_FAMILIES:
        why = tabular_not_applicable(family, spec.columns)
        if why is not None:
            return f"{why} in the reference (it reads: {seen})"
        return "it changed no case (no case has a value in the columns it changes)"
    if not spec.optional_fields:
        if named is not None:
            return (
                f"none of the suite's optional_fields ({', '.join(named) or 'empty'}) is an "
                f"optional model input (the model sees: {seen})"
            )
        return f"the model sees no optional field (it sees: {seen})"
    return f"no case has a value for the optional model inputs {', '.join(spec.optional_fields)}"


def robustness(
    suite: Suite,
    judge: Judge,
    cases: Cases,
    ans: Answers,
    tell: Progress,
    reference: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, Any]]:
    """Invariance and accuracy under each perturbation family that applies to the model.

    A family that cannot change what the model sees is reported as not applicable and left
    out of the overall values (an empty array per case when no family applies)."""
    rob = suite.robustness
    assert rob is not None
    ref = judge.version.ref
    spec = family_spec(suite, judge, cases.text_field, reference)
    answers: dict[str, FamilyAnswer] = {}
    skipped: dict[str, str] = {}
    tell(f"{ref}: robustness", 0, len(rob.perturbations))
    for family in rob.perturbations:
        got = family_answers(judge.model, cases.records, family, spec)
        why = _not_applicable(family, spec, got, rob.optional_fields)
        if why is None:
            answers[family] = got
        else:
            skipped[family] = why
        tell(f"{ref}: robustness", len(answers) + len(skipped), len(rob.perturbations))
    n = len(cases.records)
    original = np.array(ans.labels, dtype=object)
    expected = np.array(cases.expected, dtype=object)
    answered = np.array([e is None for e in ans.errors])
    inv_sum = np.zeros(n)
    acc_sum = np.zeros(n)
    families: dict[str, dict[str, Any]] = {}
    for family, (changed, got_labels, got_errors) in answers.items():
        labels = original.copy()
        ok = answered.copy()
        if changed:
            idx = np.asarray(changed, dtype=np.int64)
            labels[idx] = np.array(got_labels, dtype=object)
            ok[idx] = np.array([e is None for e in got_errors])
        inv = (labels == original) & ok & answered
        acc = (labels == expected) & ok & answered
        inv_sum += inv
        acc_sum += acc
        families[family] = {
            "invariance": float(inv.mean()),
            "accuracy": float(acc.mean()),
            "predicted": len(changed),
        }
    # One value per case (the share of its perturbed copies that held): cases, not copies,
    # are what the bootstrap resamples.
    total = len(answers)
    inv_all = inv_sum / total if total else np.zeros(0)
    acc_all = acc_sum / total if total else np.zeros(0)
    summary = {
        "seed": rob.seed,
        "invariance": float(inv_all.mean()) if total else None,
        "accuracy": float(acc_all.mean()) if total else None,
        "families": families,
        "not_applicable": skipped,
        # copies actually asked: one whose model inputs did not change keeps its answer
        "predictions": sum(f["predicted"] for f in families.values()),
    }
    return inv_all, acc_all, summary


def consistency(
    suite: Suite, judge: Judge, cases: Cases, tell: Progress
) -> tuple[np.ndarray[Any, Any], dict[str, Any]]:
    spec = suite.consistency
    assert spec is not None
    n = min(spec.cases, len(cases.records))
    rng = np.random.default_rng(spec.cases)
    idx = np.sort(rng.choice(len(cases.records), size=n, replace=False))
    sample = [cases.records[i] for i in idx.tolist()]
    runs = [predict(judge.model, sample) for _ in range(spec.repeats)]
    agree = np.zeros(n)
    for i in range(n):
        # The share of repeats giving the most common answer; an error is no answer, so it
        # never agrees (a case that raises every time scores 0, not a perfect 1).
        answers = [r.labels[i] for r in runs if r.errors[i] is None]
        if answers:
            top = max(set(answers), key=answers.count)
            agree[i] = answers.count(top) / spec.repeats
    tell(f"{judge.version.ref}: consistency", n, n)
    return agree, {"cases": n, "repeats": spec.repeats, "agreement": float(agree.mean())}
