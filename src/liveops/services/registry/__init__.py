"""The registry: services applied from ``liveops.yaml``, versions, aliases, and loading a
version's model."""

from __future__ import annotations

from liveops.services.registry.contracts import (
    LABEL_MAP_KEY,
    LabelCheck,
    feature_problems,
    parse_label_map,
)
from liveops.services.registry.models import (
    AdaptedModel,
    SklearnModel,
    batch_from_items,
    load_callable,
    load_model,
)
from liveops.services.registry.project import (
    PROJECT_FILE,
    Applied,
    apply_project,
    find_project_dir,
    get_service_spec,
    load_project,
    nearest_project_dir,
    require_project_dir,
    set_service_enabled,
)
from liveops.services.registry.versions import (
    ARTIFACT_SUFFIXES,
    DECISION_KEYS,
    AliasMove,
    Registered,
    check_entrypoint,
    check_version_labels,
    effective_config,
    list_versions,
    parse_assignments,
    register_version,
    resolve_version,
    set_alias,
)

__all__ = [
    "ARTIFACT_SUFFIXES",
    "DECISION_KEYS",
    "LABEL_MAP_KEY",
    "PROJECT_FILE",
    "AdaptedModel",
    "AliasMove",
    "Applied",
    "LabelCheck",
    "Registered",
    "SklearnModel",
    "apply_project",
    "batch_from_items",
    "check_entrypoint",
    "check_version_labels",
    "effective_config",
    "feature_problems",
    "find_project_dir",
    "get_service_spec",
    "list_versions",
    "load_callable",
    "load_model",
    "load_project",
    "nearest_project_dir",
    "parse_assignments",
    "parse_label_map",
    "register_version",
    "require_project_dir",
    "resolve_version",
    "set_alias",
    "set_service_enabled",
]
