"""The project: its folder, its ``liveops.yaml``, and applying the services declared there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from liveops.core.project import Project, ServiceSpec, parse_project, service_from_dict
from liveops.errors import InvalidInputError, ProjectNotFound, ServiceNotFound
from liveops.store import Store

__all__ = [
    "PROJECT_FILE",
    "Applied",
    "apply_project",
    "find_project_dir",
    "get_service_spec",
    "load_project",
    "nearest_project_dir",
    "require_project_dir",
    "set_service_enabled",
]

PROJECT_FILE = "liveops.yaml"


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding a ``liveops.yaml``; else ``start``."""
    start = (start or Path.cwd()).resolve()
    return nearest_project_dir(start) or start


def nearest_project_dir(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding a ``liveops.yaml``, or None."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def require_project_dir(start: Path | None = None) -> Path:
    """The project folder a store command works in; raises when there is none, so that no
    ``.liveops/`` is created in a folder that is not a project."""
    start = (start or Path.cwd()).resolve()
    found = nearest_project_dir(start)
    if found is None:
        raise ProjectNotFound(
            f"no {PROJECT_FILE} here ({start}) or above",
            hint="run `liveops init` to start a project here (or `liveops demo` to try one), "
            "cd into a project, pass -C FOLDER, or set LIVEOPS_DATABASE_URL",
        )
    return found


def load_project(path: Path, *, env: Mapping[str, str] | None = None) -> Project:
    """Read and validate a project file; errors name the line and the field. With ``env``,
    the variables receivers read their secrets from must be set in it."""
    if path.is_dir():
        path = path / PROJECT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(
            f"no project file at {path}",
            hint=f"create {PROJECT_FILE} (see docs/project-file.md) or pass --file",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None
    return parse_project(text, str(path), env=env)


@dataclass(frozen=True)
class Applied:
    service: str
    outcome: str  # created | updated | unchanged


def apply_project(store: Store, project: Project, *, actor: str) -> list[Applied]:
    """Store every declared service; each creation or change is an audit event."""
    results: list[Applied] = []
    with store.write() as conn:
        now = store.clock.now()
        for spec in project.services:
            outcome = store.registry.upsert_service(
                conn, spec.name, spec.to_dict(), spec.spec_hash(), now
            )
            if outcome != "unchanged":
                store.audit.append(
                    conn,
                    actor=actor,
                    action=f"service.{outcome}",
                    object_type="service",
                    object_id=spec.name,
                    data={"spec_hash": spec.spec_hash()},
                )
            results.append(Applied(spec.name, outcome))
        receivers = {
            k: v.model_dump(mode="json", by_alias=True, exclude_none=True)
            for k, v in (project.receivers or {}).items()
        }
        if store.alerts.set_receivers(conn, receivers, now):
            store.audit.append(
                conn,
                actor=actor,
                action="receivers.changed",
                object_type="receivers",
                object_id="project",
                data={"receivers": sorted(receivers)},
            )
    return results


def get_service_spec(store: Store, name: str) -> ServiceSpec:
    """The applied spec of service ``name``."""
    record = store.registry.get_service(name)
    if record is None:
        known = ", ".join(s.name for s in store.registry.list_services()) or "none yet"
        raise ServiceNotFound(
            f"unknown service {name!r} (applied services: {known})",
            hint="declare it in liveops.yaml and run `liveops service apply`",
        )
    return service_from_dict(record.spec)


def set_service_enabled(
    store: Store, name: str, *, enabled: bool, actor: str, reason: str | None
) -> bool:
    """The kill switch. Returns whether anything changed."""
    get_service_spec(store, name)
    with store.write() as conn:
        was_disabled = store.registry.set_disabled(conn, name, not enabled, store.clock.now())
        if was_disabled == (not enabled):
            return False
        store.audit.append(
            conn,
            actor=actor,
            action="service.enabled" if enabled else "service.disabled",
            object_type="service",
            object_id=name,
            reason=reason,
        )
    return True
