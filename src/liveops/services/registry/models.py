"""Loading a version's model behind the one :class:`~liveops.core.model.Model` interface.

- ``skops``: a scikit-learn pipeline (preprocessing inside), loaded without pickle.
- ``joblib``: a pickle; loading runs code, so registration warns.
- ``entrypoint``: ``module:callable``; calling it with no arguments returns the model: any
  object with ``predict_batch(records)`` (answering a :class:`BatchOutput`, a list of dicts
  with ``label`` and optional ``scores``/``cost``, or a list of labels) and optionally
  ``classes``. This is how a prompt sent to an LLM becomes a model.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.model import BatchOutput, Model, Record
from liveops.core.records import VersionRecord
from liveops.errors import ModelError, UsageError
from liveops.services.registry.contracts import label_map_of
from liveops.store import Store

__all__ = [
    "AdaptedModel",
    "SklearnModel",
    "batch_from_items",
    "load_callable",
    "load_estimator",
    "load_model",
]


def load_callable(spec: str, *, search_path: Path | None = None) -> Callable[..., Any]:
    """Import ``module:attr`` (the project folder is importable); clear errors if it fails.

    >>> load_callable("liveops.demo.rules:route").__name__
    'route'
    >>> load_callable("liveops.demo.rules:nope")
    Traceback (most recent call last):
    ...
    liveops.errors.ModelError: liveops.demo.rules:nope: liveops.demo.rules has no attribute 'nope'
      hint: check the name after the colon; it must be defined in liveops.demo.rules
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{spec!r} is not module:callable", hint="e.g. mypkg.rules:route")
    if search_path is not None and str(search_path) not in sys.path:
        sys.path.insert(0, str(search_path))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(
            f"{spec}: cannot import module {module_name!r} ({exc})",
            hint="check the module's name; run from the project folder or install the package "
            "that provides it",
        ) from None
    except Exception as exc:  # user code that fails while importing
        raise ModelError(
            f"{spec}: importing module {module_name!r} raised {type(exc).__name__}: {exc}",
            hint="fix the module so that it imports",
        ) from None
    obj: Any = module
    for depth, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            owner = ".".join([module_name, *attr.split(".")[:depth]])
            raise ModelError(
                f"{spec}: {owner} has no attribute {part!r}",
                hint=f"check the name after the colon; it must be defined in {owner}",
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ModelError(
            f"{spec}: {module_name}.{attr} is a {type(obj).__name__}, not a callable",
            hint="name a function (or class) that returns the model when called with no arguments",
        )
    return obj  # type: ignore[no-any-return]


class SklearnModel:
    """A fitted scikit-learn estimator or pipeline over the service's model inputs.

    What ``predict_proba`` receives (see docs/models.md):

    - one model input and a model fitted without feature names (a text pipeline fitted on a
      list): a plain list of that input's values, ``None`` as ``""``;
    - a model fitted on a DataFrame (it has ``feature_names_in_``): a pandas DataFrame with
      those columns in the model's own order;
    - several model inputs and a model fitted without names (on a numpy array): a numpy array
      with the columns in ``model_inputs`` order, so scikit-learn has no names to warn about.

    ``label_map`` (the version's ``output.label_map``) turns the model's classes into the
    service's labels, so every caller sees service labels.
    """

    def __init__(
        self,
        estimator: Any,
        model_inputs: Sequence[str],
        label_map: Mapping[str, str] | None = None,
    ) -> None:
        self.estimator = estimator
        self.model_inputs = list(model_inputs)
        lmap = dict(label_map or {})
        self._label_map = lmap
        raw = tuple(str(c) for c in getattr(estimator, "classes_", ()))
        self._classes = tuple(lmap.get(c, c) for c in raw)
        self._proba = hasattr(estimator, "predict_proba")
        names = getattr(estimator, "feature_names_in_", None)
        self._columns = [str(n) for n in names] if names is not None else None

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def _features(self, records: Sequence[Record]) -> Any:
        if self._columns is None and len(self.model_inputs) == 1:
            # A text pipeline takes a 1-D list: no DataFrame on the request path.
            field = self.model_inputs[0]
            return [("" if r.get(field) is None else r.get(field)) for r in records]
        import pandas as pd

        columns = self._columns if self._columns is not None else self.model_inputs
        frame = pd.DataFrame([{f: r.get(f) for f in columns} for r in records], columns=columns)
        # Fitted without names: the columns go by position; a DataFrame would make
        # scikit-learn warn on every call that the model was fitted without feature names.
        return frame if self._columns is not None else frame.to_numpy()

    def predict_batch(self, records: Sequence[Record]) -> BatchOutput:
        x = self._features(records)
        if self._proba and self._classes:
            scores = np.asarray(self.estimator.predict_proba(x), dtype=np.float64)
            labels = [self._classes[i] for i in scores.argmax(axis=1)]
            return BatchOutput(labels=labels, classes=self._classes, scores=scores)
        lmap = self._label_map
        labels = [lmap.get(str(v), str(v)) for v in self.estimator.predict(x)]
        return BatchOutput(labels=labels, classes=self._classes)


class AdaptedModel:
    """Wraps a user object whose ``predict_batch`` answers dicts or plain labels."""

    def __init__(self, inner: Any, label_map: Mapping[str, str] | None = None) -> None:
        self.inner = inner
        self._raw = tuple(str(c) for c in getattr(inner, "classes", ()) or ())
        self._label_map = dict(label_map or {})
        self._classes = tuple(self._label_map.get(c, c) for c in self._raw)

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def predict_batch(self, records: Sequence[Record]) -> BatchOutput:
        out = self.inner.predict_batch(list(records))
        if not isinstance(out, BatchOutput):
            out = batch_from_items(list(out), self._raw)
        if not self._label_map:
            return out
        lmap = self._label_map
        return replace(
            out,
            labels=[lmap.get(lbl, lbl) for lbl in out.labels],
            classes=tuple(lmap.get(c, c) for c in out.classes),
        )


def batch_from_items(items: list[Any], classes: tuple[str, ...]) -> BatchOutput:
    """Normalise a list of labels or ``{"label", "scores", "cost", ...}`` dicts."""
    labels: list[str] = []
    rows: list[dict[str, float]] = []
    cost = np.zeros(len(items))
    costed = False  # no item says its cost: None, so the version's cost.per_1k applies
    t_in = np.zeros(len(items), dtype=np.int64)
    t_out = np.zeros(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        if isinstance(item, str):
            labels.append(item)
            rows.append({})
            continue
        if not isinstance(item, dict) or "label" not in item:
            raise ModelError(
                f"the model answered {item!r}; expected a label or a dict with 'label'"
            )
        labels.append(str(item["label"]))
        rows.append({str(k): float(v) for k, v in (item.get("scores") or {}).items()})
        if item.get("cost") is not None:
            cost[i], costed = float(item["cost"]), True
        t_in[i] = int(item.get("tokens_in", 0))
        t_out[i] = int(item.get("tokens_out", 0))
    scores = None
    if classes and all(rows):
        scores = np.asarray([[r.get(c, 0.0) for c in classes] for r in rows], dtype=np.float64)
    return BatchOutput(labels, classes, scores, cost if costed else None, t_in, t_out)


def load_model(store: Store, version: VersionRecord, *, project_dir: Path | None = None) -> Model:
    """Load ``version``'s model; the artifact is checked against its hash first."""
    fmt = version.artifact_format
    model_inputs = version.config.get("model_inputs") or []
    label_map = label_map_of(version.config)
    if fmt == "entrypoint":
        spec = str(version.lineage.get("entrypoint", ""))
        factory = load_callable(spec, search_path=project_dir)
        store.artifacts.verified_path(version.artifact_hash)
        try:
            inner = factory()
        except Exception as exc:
            raise ModelError(f"{spec}() raised {type(exc).__name__}: {exc}") from exc
        if not hasattr(inner, "predict_batch"):
            raise ModelError(
                f"{spec}() returned {type(inner).__name__}, which has no predict_batch"
            )
        return AdaptedModel(inner, label_map)
    path = store.artifacts.verified_path(version.artifact_hash)
    trusted = list(version.lineage.get("skops_trusted", []))
    estimator = load_estimator(path, fmt, trusted, version.ref)
    return SklearnModel(estimator, model_inputs, label_map)


def load_estimator(path: Path, fmt: str, trusted: Sequence[str], what: str) -> Any:
    """The object saved in an artifact file (``skops`` or ``joblib``)."""
    try:
        if fmt == "skops":
            import skops.io as sio

            return sio.load(path, trusted=list(trusted))
        if fmt == "joblib":
            import joblib

            return joblib.load(path)
    except Exception as exc:
        raise ModelError(f"cannot load the model of {what}: {exc}") from exc
    raise ModelError(f"{what} has an unknown artifact format {fmt!r}")
