"""liveops: run AI products after the model is built.

The public API. Names are imported on first use, so ``import liveops`` stays light.

>>> import liveops
>>> from pathlib import Path
>>> store = liveops.open_store("sqlite://", artifacts_root=Path("/tmp/lo-doc"))
>>> [s.name for s in store.registry.list_services()]
[]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # store
    "Store": "liveops.store",
    "open_store": "liveops.store",
    # project and registry
    "Project": "liveops.core.project",
    "ServiceSpec": "liveops.core.project",
    "parse_project": "liveops.core.project",
    "load_project": "liveops.services.registry",
    "apply_project": "liveops.services.registry",
    "register_version": "liveops.services.registry",
    "resolve_version": "liveops.services.registry",
    "set_alias": "liveops.services.registry",
    "list_versions": "liveops.services.registry",
    "diff_versions": "liveops.core.diff",
    "VersionRecord": "liveops.core.records",
    "DatasetRecord": "liveops.core.records",
    "add_dataset": "liveops.services.datasets",
    "resolve_dataset": "liveops.services.datasets",
    "load_records": "liveops.services.datasets",
    # models and decisions
    "Model": "liveops.core.model",
    "BatchOutput": "liveops.core.model",
    "load_model": "liveops.services.registry",
    "DecisionSettings": "liveops.core.serving.decision",
    "decide": "liveops.core.serving.decision",
    "find_sensitive": "liveops.core.sensitive",
    "redact": "liveops.core.sensitive",
    # errors
    "LiveopsError": "liveops.errors",
    # the gateway from Python
    "Client": "liveops.client",
    "Prediction": "liveops.client",
}

__all__ = [
    "BatchOutput",
    "Client",
    "DatasetRecord",
    "DecisionSettings",
    "LiveopsError",
    "Model",
    "Prediction",
    "Project",
    "ServiceSpec",
    "Store",
    "VersionRecord",
    "__version__",
    "add_dataset",
    "apply_project",
    "decide",
    "diff_versions",
    "find_sensitive",
    "list_versions",
    "load_model",
    "load_project",
    "load_records",
    "open_store",
    "parse_project",
    "redact",
    "register_version",
    "resolve_dataset",
    "resolve_version",
    "set_alias",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'liveops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from liveops.client import Client, Prediction
    from liveops.core.diff import diff_versions
    from liveops.core.model import BatchOutput, Model
    from liveops.core.project import Project, ServiceSpec, parse_project
    from liveops.core.records import DatasetRecord, VersionRecord
    from liveops.core.sensitive import find_sensitive, redact
    from liveops.core.serving.decision import DecisionSettings, decide
    from liveops.errors import LiveopsError
    from liveops.services.datasets import add_dataset, load_records, resolve_dataset
    from liveops.services.registry import (
        apply_project,
        list_versions,
        load_model,
        load_project,
        register_version,
        resolve_version,
        set_alias,
    )
    from liveops.store import Store, open_store
