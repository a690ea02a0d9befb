"""What the gateway needs from the store: which services are live, and their loaded versions.

The gateway polls :func:`read_services` (one small query) and loads a version with
:func:`load_serving_version` *before* any traffic moves to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from liveops.core.decision import DecisionSettings, RulesFunction
from liveops.core.model import Model
from liveops.core.project import ServiceSpec
from liveops.errors import ModelError
from liveops.services.registry import get_service_spec, load_callable, load_model, resolve_version
from liveops.store import Store

__all__ = ["ServedService", "ServingVersion", "load_serving_version", "read_services"]

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
    store: Store, previous: Mapping[str, ServedService] | None = None
) -> dict[str, ServedService]:
    """Every applied service; a spec is re-read only when its hash changed."""
    previous = previous or {}
    out: dict[str, ServedService] = {}
    for name, spec_hash, disabled, number in store.registry.alias_snapshot(LIVE_ALIAS):
        old = previous.get(name)
        spec = old.spec if old is not None and old.spec_hash == spec_hash else None
        if spec is None:
            spec = get_service_spec(store, name)
        out[name] = ServedService.build(name, spec, spec_hash, disabled, number)
    return out


@dataclass
class ServingVersion:
    """A loaded version: its model, the decision settings from its config, its rules."""

    service: str
    number: int
    model: Model
    settings: DecisionSettings
    rules: RulesFunction | None
    artifact_format: str = "skops"  # skops | joblib | entrypoint

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.number}"


def load_serving_version(
    store: Store, service: str, number: int, *, project_dir: Path | None = None
) -> ServingVersion:
    """Load ``service@number`` (model, settings, rules) ready to answer."""
    record = resolve_version(store, f"{service}@{number}")
    settings = DecisionSettings.from_config(record.config.get("decision"))
    model = load_model(store, record, project_dir=project_dir)
    rules: RulesFunction | None = None
    if settings.rules is not None:
        try:
            rules = load_callable(settings.rules, search_path=project_dir)
        except Exception as exc:
            raise ModelError(
                f"{record.ref}: cannot load its rules {settings.rules}: {exc}",
                hint="make the module importable from the project folder",
            ) from exc
    return ServingVersion(service, number, model, settings, rules, record.artifact_format)
