"""What the gateway needs from the store: which services are live, and their loaded versions.

The gateway polls :func:`read_services` (one small query) and loads a version with
:func:`load_serving_version` *before* any traffic moves to it. A version that cannot load (its
artifact fails the hash check, its rules raise on import) still comes back, with
``load_error`` saying why: the gateway then answers its requests from the fallback chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveops.core.model import BatchOutput, Model
from liveops.core.project import ServiceSpec
from liveops.core.serving.cost import per_answer
from liveops.core.serving.decision import DecisionSettings, RulesFunction
from liveops.errors import InvalidInputError, LiveopsError, ModelError, ModelUnavailableError
from liveops.services.registry import (
    LabelCheck,
    get_service_spec,
    load_callable,
    load_model,
    resolve_version,
)
from liveops.store import Store

__all__ = [
    "ServedService",
    "ServingVersion",
    "describe_fallback",
    "fallback_when_disabled",
    "load_serving_version",
    "read_services",
    "require_labels",
]

LIVE_ALIAS = "production"


@dataclass(frozen=True)
class ServedService:
    """A service as the gateway sees it: its spec, kill switch and production version."""

    name: str
    spec: ServiceSpec
    spec_hash: str
    disabled: bool
    production: int | None
    text_fields: tuple[str, ...] = field(default=(), compare=False)
    segment_fields: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def build(
        cls, name: str, spec: ServiceSpec, spec_hash: str, disabled: bool, production: int | None
    ) -> ServedService:
        text = tuple(
            n for n in spec.model_inputs if spec.inputs[n].type == "string"
        )  # the fields the sensitive-input check reads
        segments = tuple(n for n in spec.inputs if n not in spec.model_inputs)
        return cls(name, spec, spec_hash, disabled, production, text, segments)


def read_services(
    store: Store, previous: Mapping[str, ServedService] | None = None, alias: str = LIVE_ALIAS
) -> dict[str, ServedService]:
    """Every applied service; a spec is re-read only when its hash changed. ``production``
    of each is the version ``alias`` points at (another alias: a staging gateway)."""
    previous = previous or {}
    out: dict[str, ServedService] = {}
    for name, spec_hash, disabled, number in store.registry.alias_snapshot(alias):
        old = previous.get(name)
        spec = old.spec if old is not None and old.spec_hash == spec_hash else None
        if spec is None:
            spec = get_service_spec(store, name)
        out[name] = ServedService.build(name, spec, spec_hash, disabled, number)
    return out


@dataclass
class ServingVersion:
    """A loaded version: its model, the decision settings from its config, its rules.

    ``load_error`` is set when the version could not load (its model is then a stand-in that
    refuses every call, and ``rules`` is whatever did load)."""

    service: str
    number: int
    model: Model
    settings: DecisionSettings
    rules: RulesFunction | None
    artifact_format: str = "skops"  # skops | joblib | entrypoint
    load_error: str | None = None
    cost: float | None = None  # per answer, from cost.per_1k, when the model reports none

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.number}"


def load_serving_version(
    store: Store, service: str, number: int, *, project_dir: Path | None = None
) -> ServingVersion:
    """Load ``service@number`` (model, settings, rules) ready to answer.

    Raises when the version does not exist or its settings are invalid; a model or rules that
    fail to load are reported in ``load_error`` instead, so that its fallback can answer.
    """
    record = resolve_version(store, f"{service}@{number}")
    settings = DecisionSettings.from_config(record.config.get("decision"))
    rules: RulesFunction | None = None
    error: str | None = None
    if settings.rules is not None:
        try:
            rules = load_callable(settings.rules, search_path=project_dir)
        except Exception as exc:
            why = exc.message if isinstance(exc, LiveopsError) else f"{type(exc).__name__}: {exc}"
            error = f"cannot load its rules: {why}"
    model: Model
    if error is not None:  # the version cannot answer anyway: do not load its model
        model = _Unloadable(error)
    else:
        try:
            model = load_model(store, record, project_dir=project_dir)
        except LiveopsError as exc:
            error = f"cannot load its model: {exc.message}"
            model = _Unloadable(error)
        else:
            # service apply may have changed the labels since the version was registered
            try:
                require_labels(record.ref, model, get_service_spec(store, service))
            except ModelError as exc:
                error = exc.message
                model = _Unloadable(error)
    return ServingVersion(
        service,
        number,
        model,
        settings,
        rules,
        record.artifact_format,
        load_error=error,
        cost=per_answer(record.config),
    )


class _Unloadable:
    """The model of a version that could not load: every call says why."""

    classes: tuple[str, ...] = ()

    def __init__(self, why: str) -> None:
        self.why = why

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> BatchOutput:
        raise ModelUnavailableError(self.why)


def describe_fallback(settings: DecisionSettings) -> str | None:
    """What answers when the version cannot (``support-router@1``, ``rules mod:fn``, or both
    joined by ``then``); None when nothing would."""
    steps = [settings.fallback_version, settings.rules and f"rules {settings.rules}"]
    named = [s for s in steps if s]
    return " then ".join(named) if named else None


def fallback_when_disabled(store: Store, service: str) -> str | None:
    """What answers ``service`` while its kill switch is on (its production version's fallback,
    or the service's declared one when no version is in production); None when nothing would,
    so that every request gets 503."""
    spec = get_service_spec(store, service)
    try:
        record = resolve_version(store, f"{service}@{LIVE_ALIAS}")
    except LiveopsError:  # no production version: the declared settings will apply
        return describe_fallback(spec.decision_settings())
    return describe_fallback(DecisionSettings.from_config(record.config.get("decision")))


def require_labels(ref: str, model: Model, spec: ServiceSpec) -> None:
    """Raise :class:`ModelError` when the model's classes, through its version's label map, are
    not all ``spec``'s labels (the gateway then does not let it answer). A model that does not
    tell its classes (an entry point without ``classes``) is not checked."""
    if not model.classes:
        return
    check = LabelCheck.of(model.classes, spec.output.labels, None)  # load_model mapped them
    try:
        check.raise_if_bad(ref, spec.name, routing=True)
    except InvalidInputError as exc:
        raise ModelError(exc.message, hint=exc.hint) from None
