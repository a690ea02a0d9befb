"""Fit a version's calibrator for the label-free quality estimate (CBPE).

The calibration set is the service's ``calibration:`` dataset, by default the suite's
evaluation cases, and never the version's training set (a model is over-confident on what it
was fitted to, so the estimate would be too high). The version's model answers every case with
the evaluation's batched prediction; cases it could not answer are left out and counted.
``calibration.by`` names suite slices: each combination of them (``short``, ``spanish+short``,
none of them: ``rest``) with enough cases gets maps of its own; :func:`calibration_groups`
computes the same names for live records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.evaluation.suite import SliceSpec, Suite
from liveops.core.monitoring.estimate import Calibrator
from liveops.core.project import CalibrationSpec
from liveops.errors import InvalidInputError
from liveops.services.datasets import resolve_dataset
from liveops.services.evaluation.cases import load_cases
from liveops.services.evaluation.predict import predict
from liveops.services.evaluation.runs import load_suite
from liveops.services.registry import get_service_spec, load_model, resolve_version
from liveops.store import Store

__all__ = ["Calibration", "calibration_groups", "fit_calibrator"]

REST = "rest"


@dataclass(frozen=True)
class Calibration:
    """A fitted calibrator and where it came from."""

    version: str
    dataset: str
    calibrator: Calibrator
    by: tuple[str, ...]
    text_field: str | None
    unanswered: int  # cases the model raised on, left out

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "dataset": self.dataset,
            "by": list(self.by),
            "text_field": self.text_field,
            "unanswered": self.unanswered,
            "calibrator": self.calibrator.to_dict(),
        }


def calibration_groups(
    records: Sequence[Mapping[str, Any]], slices: Sequence[SliceSpec], text_field: str | None
) -> list[str]:
    """Each record's group: the names of the ``slices`` it belongs to, joined by ``+``, or
    ``rest``. Without slices every record is in ``rest`` (pooled calibration)."""
    out = []
    for r in records:
        text = r.get(text_field) if text_field else None
        length = len(text) if isinstance(text, str) else 0
        names = [s.name for s in slices if s.where.matches(r, length)]
        out.append("+".join(names) or REST)
    return out


def _slices(suite: Suite | None, by: Sequence[str], service: str) -> list[SliceSpec]:
    if not by:
        return []
    known = {s.name: s for s in (suite.slices if suite else [])}
    unknown = [b for b in by if b not in known]
    if unknown:
        raise InvalidInputError(
            f"calibration.by of service {service} names slices its suite does not have: "
            f"{', '.join(unknown)} (its slices: {', '.join(known) or 'none'})",
            hint="name slices of the suite, or drop calibration.by",
        )
    return [known[b] for b in by]


def fit_calibrator(
    store: Store,
    ref: str,
    *,
    project_dir: Path,
    replicates: int = 30,
    seed: int = 0,
) -> Calibration:
    """Fit version ``ref``'s calibrator on its service's calibration set."""
    version = resolve_version(store, ref)
    spec = get_service_spec(store, version.service)
    cal = spec.calibration or CalibrationSpec()
    suite = load_suite(spec, project_dir)[0] if spec.suite else None
    if cal.dataset is None and suite is None:
        raise InvalidInputError(
            f"service {spec.name} names no calibration set and no suite",
            hint="add calibration: DATASET (a labelled dataset, not the training set) to the "
            "service in liveops.yaml",
        )
    name = cal.dataset or (suite.cases.dataset if suite else "")
    dataset = resolve_dataset(store, name)
    trained_on = version.lineage.get("datasets", {}).get("train") or {}
    if dataset.content_hash == trained_on.get("content_hash"):
        raise InvalidInputError(
            f"the calibration set {dataset.ref} is the training set of {version.ref}; a model "
            "is over-confident on the cases it was fitted to, so the estimate would be too high",
            hint="name a labelled dataset the version never trained on in calibration: "
            "(by default the suite's evaluation cases)",
        )
    expected = suite.cases.expected if suite else "label"
    text_field = suite.cases.text_field if suite else None
    cases = load_cases(store, dataset.ref, expected, text_field, "the calibration set")
    slices = _slices(suite, cal.by, spec.name)

    model = load_model(store, version, project_dir=project_dir)
    answers = predict(model, cases.records)
    labels = answers.classes or tuple(spec.output.labels)
    if answers.scores is None:
        raise InvalidInputError(
            f"{version.ref} gives no scores per label, so its quality cannot be estimated "
            "from its confidence",
            hint="serve a model that answers scores for every label",
        )
    unknown = sorted(set(cases.expected) - set(labels))
    if unknown:
        raise InvalidInputError(
            f"the calibration set {dataset.ref} has labels {version.ref} does not know: "
            f"{', '.join(unknown)} (its labels: {', '.join(labels)})",
            hint="calibrate on cases of the version's labels only",
        )
    ok = [
        i
        for i, e in enumerate(answers.errors)
        if e is None and np.isfinite(answers.scores[i]).all()
    ]
    index = {c: j for j, c in enumerate(labels)}
    groups = calibration_groups(cases.records, slices, cases.text_field)
    calibrator = Calibrator.fit(
        answers.scores[ok],
        np.array([index[cases.expected[i]] for i in ok], dtype=np.int64),
        labels,
        groups=[groups[i] for i in ok] if slices else None,
        replicates=replicates,
        seed=seed,
    )
    return Calibration(
        version.ref,
        dataset.ref,
        calibrator,
        tuple(cal.by),
        cases.text_field,
        len(cases.records) - len(ok),
    )
