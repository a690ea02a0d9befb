"""The label-free estimate in the monitor: each version's calibrator, and the CBPE sums of a
range of windows per (version, arm, slice, window).

A version's calibrator is fitted once per calibration set (its content hash and the
calibration's settings make the key), kept as JSON in the artifact store and referenced from
``monitor_calibrations``. A fit that fails (too few cases, no scores per label, the training
set named) is stored with its reason instead: the pass does not try again for that set, the
windows of that version carry no estimate, and ``monitor status`` says why.

Which answers are estimated: those the version's model gave (no error, not a fallback) with a
label among the calibrator's and a score for every one of its labels. Each answer's group is
computed from its logged input by the same slice filters as the calibration set's
(:func:`~liveops.services.evaluation.calibration_groups`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from liveops.core.clock import Clock
from liveops.core.evaluation.suite import SliceSpec
from liveops.core.monitoring.estimate import METHOD, REPLICATES, Calibrator, EstimateSums
from liveops.core.project import CalibrationSpec, ServiceSpec
from liveops.errors import LiveopsError
from liveops.services.datasets import resolve_dataset
from liveops.services.evaluation import calibration_groups, fit_calibrator
from liveops.services.monitoring.aggregate import Columns
from liveops.store import Store
from liveops.store.monitoring import CalibrationRow

__all__ = ["Calibrators", "add_estimates", "right_probabilities"]

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class _Ready:
    calibrator: Calibrator
    slices: tuple[SliceSpec, ...]  # the calibration's groups (``calibration.by``)
    text_field: str | None


@dataclass
class Calibrators:
    """The calibrators of one service's versions for one pass, fitted or loaded on first use.

    ``notes`` says, once per pass and only when a fit was attempted in it, why a version
    has no estimate; the stored reason is what ``monitor status`` shows afterwards.
    """

    store: Store
    spec: ServiceSpec | None
    project_dir: Path | None
    clock: Clock
    suite_slices: tuple[SliceSpec, ...] = ()
    text_field: str | None = None
    notes: list[str] = field(default_factory=list)
    _cache: dict[int, _Ready | None] = field(default_factory=dict)

    def get(self, version: int) -> _Ready | None:
        if version not in self._cache:
            self._cache[version] = self._load(version) if version > 0 else None
        return self._cache[version]

    def _load(self, version: int) -> _Ready | None:
        if self.spec is None:
            return None
        spec = self.spec
        cal = spec.calibration or CalibrationSpec()
        by = tuple(cal.by)
        try:
            dataset = self._dataset_ref()
            record = resolve_dataset(self.store, dataset) if dataset else None
        except LiveopsError as exc:
            return self._failed(version, f"dataset:{cal.dataset}", cal.dataset or "", exc.message)
        if record is None:
            key = _key("none", by)
            why = "the service names no calibration set and no suite"
            return self._failed(version, key, "", why)
        key = _key(record.content_hash, by)
        mon = self.store.monitoring
        row = mon.calibration(spec.name, version, key)
        if row is not None and row.artifact is None:
            return None  # failed before: status shows why
        slices = tuple(s for s in self.suite_slices if s.name in by)
        if row is not None and row.artifact is not None:
            stored = orjson.loads(self.store.artifacts.read_bytes(row.artifact))
            text_field = stored.get("text_field") or self.text_field
            return _Ready(Calibrator.from_dict(stored["calibrator"]), slices, text_field)
        if self.project_dir is None:
            return None  # fitting loads the model and the suite: needs the project folder
        try:
            fitted = fit_calibrator(
                self.store,
                f"{spec.name}@{version}",
                project_dir=self.project_dir,
                replicates=REPLICATES,
            )
        except LiveopsError as exc:
            return self._failed(version, key, record.ref, exc.message)
        digest = self.store.artifacts.put_bytes(orjson.dumps(fitted.to_dict()))
        mon.save_calibration(
            CalibrationRow(
                spec.name,
                version,
                key,
                record.ref,
                digest,
                None,
                fitted.calibrator.cases,
                self.clock.now(),
            )
        )
        return _Ready(fitted.calibrator, slices, fitted.text_field or self.text_field)

    def _dataset_ref(self) -> str | None:
        assert self.spec is not None
        cal = self.spec.calibration or CalibrationSpec()
        if cal.dataset:
            return cal.dataset
        if not self.spec.suite or self.project_dir is None:
            return None
        from liveops.services.evaluation import load_suite

        return load_suite(self.spec, self.project_dir)[0].cases.dataset

    def _failed(self, version: int, key: str, dataset: str, why: str) -> _Ready | None:
        assert self.spec is not None
        self.store.monitoring.save_calibration(
            CalibrationRow(
                self.spec.name, version, key, dataset, None, why[:2000], 0, self.clock.now()
            )
        )
        self.notes.append(f"{self.spec.name}@{version} has no estimated quality: {why}")
        return None


def _key(content_hash: str, by: Sequence[str]) -> str:
    body = orjson.dumps(
        {"dataset": content_hash, "by": list(by), "method": METHOD, "replicates": REPLICATES}
    )
    return hashlib.sha256(body).hexdigest()[:32]


def _scores_of(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    parsed = orjson.loads(value) if isinstance(value, str | bytes) else value
    return parsed if isinstance(parsed, dict) else None


def add_estimates(
    points: list[dict[str, Any]],
    ids: Sequence[str],
    cols: Columns,
    masks: Mapping[str, Array],
    scores: Sequence[tuple[str, int | None, Any]],
    calibrators: Calibrators,
) -> None:
    """Put the estimate's sums into ``points`` (``aggregate``'s rows, in place): for each
    (version, arm, slice, window) with estimated answers, ``stats["estimate"]``.

    ``ids`` are the rows' prediction ids in ``cols``' order; ``scores`` what
    ``MonitoringStore.read_scores`` gave for the same windows."""
    if cols.n == 0 or not scores:
        return
    row_of = {pid: i for i, pid in enumerate(ids)}
    by_version: dict[int, list[tuple[int, Mapping[str, Any]]]] = {}
    for pid, version, raw in scores:
        i = row_of.get(pid)
        s = _scores_of(raw)
        if i is None or version is None or not s:
            continue
        by_version.setdefault(int(version), []).append((i, s))
    found: dict[tuple[int, str, str, int], EstimateSums] = {}
    for version, rows in by_version.items():
        ready = calibrators.get(version)
        if ready is not None:
            _one_version(found, version, rows, cols, masks, ready)
    for p in points:
        sums = found.get((p["version"], p["arm"], p["slice"], p["window"]))
        if sums is not None:
            p["stats"]["estimate"] = sums.to_dict()


def _one_version(
    found: dict[tuple[int, str, str, int], EstimateSums],
    version: int,
    rows: list[tuple[int, Mapping[str, Any]]],
    cols: Columns,
    masks: Mapping[str, Array],
    ready: _Ready,
) -> None:
    labels = ready.calibrator.labels
    # Each answer is estimated on the label its realised accuracy judges (``cols.judged``): the
    # answered label when the answer was automatic, else the top label of the model's scores
    # (an answer sent to human review or to the fallback), so the estimate and the realised
    # accuracy measure the same answers. A failed call has no scores to estimate.
    judged = cols.judged
    keep, matrix, predicted = _estimable(
        labels,
        (
            (i, None if cols.error[i] or judged[i] < 0 else cols.vocab[judged[i]], s)
            for i, s in rows
        ),
    )
    if not keep:
        return
    rows_ = np.asarray(keep, dtype=np.int64)
    groups = None
    if ready.slices and cols.inputs is not None:
        groups = calibration_groups([cols.inputs[i] for i in keep], ready.slices, ready.text_field)
    probs = ready.calibrator.apply(matrix, groups)
    reps = ready.calibrator.apply_replicates(matrix, groups)
    pred = np.asarray(predicted, dtype=np.int64)
    b = reps.shape[0]
    arms = [cols.groups[g] for g in cols.group[rows_].tolist()]
    windows = cols.window[rows_]
    # One key per (arm, window) of this version; the answers of each, then each slice's share.
    keys: dict[tuple[str, int], list[int]] = {}
    for j, ((_, arm), w) in enumerate(zip(arms, windows.tolist(), strict=True)):
        keys.setdefault((arm, int(w)), []).append(j)
    for name, mask in masks.items():
        in_slice = mask[rows_]
        for (arm, w), js in keys.items():
            sel = np.asarray(js, dtype=np.int64)
            sel = sel[in_slice[sel]]
            if not sel.size:
                continue
            sums = EstimateSums.empty(labels, b)
            sums.add(probs[sel], pred[sel], reps[:, sel] if b else None)
            found[(version, arm, name, w)] = sums


def _estimable(
    labels: Sequence[str], answers: Iterable[tuple[int, str | None, Mapping[str, Any]]]
) -> tuple[list[int], list[list[float]], list[int]]:
    """Of ``answers`` ((row, judged label or None for a failed call, scores)), those the
    calibrator can estimate: a judged label among its ``labels`` and a finite score for each
    of them. Their rows, score vectors (in ``labels``' order) and judged labels' indices."""
    index = {c: j for j, c in enumerate(labels)}
    keep: list[int] = []
    matrix: list[list[float]] = []
    predicted: list[int] = []
    for i, label, s in answers:
        if label is None or label not in index:
            continue  # a failed call, or a label the calibrator does not know
        try:
            vector = [float(s[c]) for c in labels]
        except (KeyError, TypeError, ValueError):
            continue  # a score missing for one of its labels
        if not np.isfinite(vector).all():
            continue
        keep.append(i)
        matrix.append(vector)
        predicted.append(index[label])
    return keep, matrix, predicted


def right_probabilities(
    calibrators: Calibrators,
    version: int,
    judged: Sequence[str | None],
    scores: Sequence[Any],
    inputs: Sequence[Mapping[str, Any]] | None = None,
) -> Array:
    """Per answer of ``version``, the calibrated probability that its ``judged`` label is
    right (what the estimated accuracy averages); NaN where there is none: no calibrator for
    the version, a failed call (``judged`` None), a label the calibrator does not know, or a
    score missing. ``scores`` are the logged score maps (JSON text or dicts); ``inputs`` the
    logged inputs, needed when the calibration has groups (``calibration.by``)."""
    out = np.full(len(judged), np.nan)
    ready = calibrators.get(version)
    if ready is None or not len(judged):
        return out
    answers = (
        (i, label, s)
        for i, (label, raw) in enumerate(zip(judged, scores, strict=True))
        if (s := _scores_of(raw))
    )
    keep, matrix, predicted = _estimable(ready.calibrator.labels, answers)
    if not keep:
        return out
    groups = None
    if ready.slices and inputs is not None:
        groups = calibration_groups([inputs[i] for i in keep], ready.slices, ready.text_field)
    probs = ready.calibrator.apply(matrix, groups)
    out[np.asarray(keep, dtype=np.int64)] = probs[np.arange(len(keep)), predicted]
    return out
