"""Versions and aliases: register, resolve, point an alias, list.

>>> # see tests/services/test_registry.py and the README for worked examples
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from liveops.core.hashing import canonical_json, content_hash
from liveops.core.names import VersionRef, check_name, parse_version_ref
from liveops.core.project import ServiceSpec
from liveops.core.records import VersionRecord
from liveops.core.serving.cost import per_answer
from liveops.core.serving.decision import DecisionSettings
from liveops.errors import InvalidInputError, ModelError, UsageError, VersionNotFound
from liveops.services.datasets import resolve_dataset
from liveops.services.registry import lineage
from liveops.services.registry.contracts import (
    LABEL_MAP_KEY,
    LabelCheck,
    feature_problems,
    label_map_of,
    parse_label_map,
)
from liveops.services.registry.models import load_callable, load_estimator, load_model
from liveops.services.registry.project import get_service_spec
from liveops.store import Store
from liveops.store.artifacts import sha256_file

__all__ = [
    "ARTIFACT_SUFFIXES",
    "DECISION_KEYS",
    "AliasMove",
    "Registered",
    "check_entrypoint",
    "check_version_labels",
    "effective_config",
    "list_versions",
    "parse_assignments",
    "register_version",
    "resolve_version",
    "set_alias",
]

DECISION_KEYS = frozenset(DecisionSettings.__dataclass_fields__)
ARTIFACT_SUFFIXES = {".skops": "skops", ".joblib": "joblib", ".pkl": "joblib", ".pickle": "joblib"}


@dataclass(frozen=True)
class Registered:
    version: VersionRecord
    created: bool
    warnings: list[str] = field(default_factory=list)


def parse_assignments(items: Sequence[str], what: str = "--config") -> dict[str, Any]:
    """``["threshold=0.68", "model.c=2"]`` to ``{"threshold": 0.68, "model.c": 2}``.

    Values are read as YAML scalars, so numbers and booleans keep their type.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"{what} {item!r} is not KEY=VALUE", hint=f"e.g. {what} threshold=0.68"
            )
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def effective_config(
    service_decision: Mapping[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The service's decision defaults with the version's overrides applied and validated.

    Decision keys (``threshold``...) override the copied defaults; other settings must be
    dotted (``model.temperature=0.2``) so that a typo of a decision key is not silently kept.
    """
    decision = dict(service_decision)
    extra: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in DECISION_KEYS:
            decision[key] = value
        elif key.startswith("decision."):
            decision[key.removeprefix("decision.")] = value
        elif "." in key:
            extra[key] = value
        else:
            raise UsageError(
                f"unknown config key {key!r}",
                hint=f"decision keys are {', '.join(sorted(DECISION_KEYS))}; "
                "other settings take a dotted name such as model.temperature",
            )
    DecisionSettings.from_config(service_decision)  # the project file's own mistakes stay 4
    try:
        settings = DecisionSettings.from_config(decision)
    except InvalidInputError as exc:
        # A value given on the command line (-c threshold=abc) is a usage error, as an
        # unknown key is: both exit 2.
        raise UsageError(
            f"invalid config override: {exc.message}",
            hint=exc.hint
            or "e.g. --config threshold=0.68 (the decision keys and their values: "
            "docs/project-file.md)",
        ) from None
    try:
        per_answer(extra)
    except InvalidInputError as exc:
        raise UsageError(f"invalid config override: {exc.message}", hint=exc.hint) from None
    return {"decision": settings.to_config(), **dict(sorted(extra.items()))}


def register_version(
    store: Store,
    service: str,
    *,
    actor: str,
    artifact: Path | None = None,
    entrypoint: str | None = None,
    config: Mapping[str, Any] | None = None,
    datasets: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    message: str | None = None,
    trust: Sequence[str] = (),
    cwd: Path | None = None,
) -> Registered:
    """Register an immutable version; identical content returns the existing version."""
    spec = get_service_spec(store, service)
    notes: list[str] = []
    cfg = effective_config(spec.decision, config or {})
    cfg["model_inputs"] = list(spec.model_inputs)
    if LABEL_MAP_KEY in cfg:  # normalised before hashing: {0: a} and {"0": "a"} are one map
        cfg[LABEL_MAP_KEY] = parse_label_map(cfg[LABEL_MAP_KEY])
    used = {role: resolve_dataset(store, ref) for role, ref in (datasets or {}).items()}
    dataset_hashes = {role: d.content_hash for role, d in sorted(used.items())}
    same = _registered_skops(store, service, artifact, entrypoint, cfg, dataset_hashes)
    if same is not None:
        return Registered(same, created=False, warnings=notes)
    if entrypoint is not None and artifact is None:
        check_entrypoint(entrypoint, cwd or Path.cwd())
    fmt, source, extra_lineage = _read_artifact(artifact, entrypoint, trust, notes)
    extra_lineage.update(_check_contract(spec, fmt, source, entrypoint, cfg, extra_lineage, notes))
    artifact_hash = _put_artifact(store, fmt, source, entrypoint)
    identity = content_hash({"artifact": artifact_hash, "config": cfg, "datasets": dataset_hashes})
    captured = lineage.capture(cwd or Path.cwd())
    captured.update(extra_lineage)
    captured["datasets"] = {
        role: {"ref": d.ref, "content_hash": d.content_hash, "rows": d.rows}
        for role, d in sorted(used.items())
    }
    captured["params"] = dict(params or {})
    with store.write() as conn:
        existing = store.registry.find_by_content(conn, service, identity)
        if existing is not None:
            found = store.registry.get_version(service, existing, conn)
            assert found is not None
            return Registered(found, created=False, warnings=notes)
        record = VersionRecord(
            service=service,
            number=store.registry.next_number(conn, service),
            content_hash=identity,
            artifact_hash=artifact_hash,
            artifact_format=fmt,
            config=cfg,
            lineage=captured,
            metrics=_numbers(metrics or {}),
            message=message,
            owner=actor,
            created_at=store.clock.now(),
        )
        store.registry.insert_version(conn, record)
        store.audit.append(
            conn,
            actor=actor,
            action="version.registered",
            object_type="version",
            object_id=record.ref,
            reason=message,
            data={"content_hash": identity, "artifact_hash": artifact_hash},
        )
    return Registered(record, created=True, warnings=notes)


def _registered_skops(
    store: Store,
    service: str,
    artifact: Path | None,
    entrypoint: str | None,
    cfg: Mapping[str, Any],
    dataset_hashes: Mapping[str, str],
) -> VersionRecord | None:
    """The existing version with this very skops file, config and datasets, if any: found by
    hashing the file, before skops reads the whole of it to check its types (seconds for a
    large vocabulary), so registering known content again is a quick lookup."""
    if entrypoint is not None or artifact is None or not artifact.is_file():
        return None
    if ARTIFACT_SUFFIXES.get(artifact.suffix.lower()) != "skops":
        return None
    digest = sha256_file(artifact)
    if not store.artifacts.path_of(digest).is_file():
        return None  # the full path stores the file again
    identity = content_hash({"artifact": digest, "config": cfg, "datasets": dataset_hashes})
    with store.engine.connect() as conn:
        number = store.registry.find_by_content(conn, service, identity)
        return None if number is None else store.registry.get_version(service, number, conn)


def check_entrypoint(entrypoint: str, project_dir: Path) -> None:
    """Check that ``module:attr`` imports and names a callable, without calling it.

    ``project_dir`` is importable while checking, as it is when the model is loaded.
    """
    import sys

    added = str(project_dir) not in sys.path
    try:
        load_callable(entrypoint, search_path=project_dir)
    except ModelError as exc:  # at registration this is the user's input, not a model failure
        raise InvalidInputError(f"entry point {exc.message}", hint=exc.hint) from None
    finally:
        if added and str(project_dir) in sys.path:
            sys.path.remove(str(project_dir))  # registering leaves the import path as it was


def _read_artifact(
    artifact: Path | None,
    entrypoint: str | None,
    trust: Sequence[str],
    notes: list[str],
) -> tuple[str, Path | None, dict[str, Any]]:
    """Check the artifact (or entry point) a version is registered from; store nothing yet."""
    if (artifact is None) == (entrypoint is None):
        raise UsageError(
            "give exactly one of --artifact FILE or --entrypoint module:callable",
            hint="a saved scikit-learn pipeline is --artifact model.skops",
        )
    if entrypoint is not None:
        if ":" not in entrypoint:
            raise UsageError(
                f"entry point {entrypoint!r} is not module:callable",
                hint="e.g. --entrypoint mypackage.model:load",
            )
        return "entrypoint", None, {"entrypoint": entrypoint}
    assert artifact is not None
    if not artifact.is_file():
        raise InvalidInputError(
            f"artifact file {artifact} does not exist or is not a file",
            hint="check the path; save a pipeline with skops.io.dump(model, 'model.skops')",
        )
    fmt = ARTIFACT_SUFFIXES.get(artifact.suffix.lower())
    if fmt is None:
        raise InvalidInputError(
            f"cannot tell the format of {artifact.name}",
            hint="use .skops (safe, the default) or .joblib/.pkl (pickle: only your own files)",
        )
    extra: dict[str, Any] = {"artifact_file": artifact.name}
    if fmt == "skops":
        extra["skops_trusted"] = _check_skops(artifact, trust)
    else:
        msg = (
            f"{artifact.name} is a pickle: loading it runs arbitrary code. "
            "Prefer skops (skops.io.dump) for scikit-learn models."
        )
        warnings.warn(msg, stacklevel=3)  # at register_version's caller
        notes.append(msg)
    return fmt, artifact, extra


def _put_artifact(store: Store, fmt: str, source: Path | None, entrypoint: str | None) -> str:
    if source is None:
        return store.artifacts.put_bytes(canonical_json({"entrypoint": entrypoint}).encode())
    try:
        return store.artifacts.put_file(source)
    except PermissionError as exc:
        raise InvalidInputError(f"cannot read artifact {source}: {exc.strerror}") from None


def _check_contract(
    spec: ServiceSpec,
    fmt: str,
    source: Path | None,
    entrypoint: str | None,
    cfg: Mapping[str, Any],
    extra: Mapping[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """Refuse a model whose classes are not the service's labels (after the version's label
    map) or whose feature names are not the service's model inputs. Returns what the version's
    lineage keeps of it (``classes``, ``feature_names``), so that ``alias set`` can re-check
    the labels without loading the model."""
    what = f"the model ({source.name if source else entrypoint})"
    if source is None:
        # Registration does not call an entry point (it may connect to an LLM provider);
        # its classes are checked when evaluation or the gateway loads it.
        notes.append(
            f"{entrypoint}: its classes are checked when it is loaded (alias set, eval, the "
            "gateway), not at registration"
        )
        return {}
    estimator = load_estimator(source, fmt, list(extra.get("skops_trusted", [])), source.name)
    out: dict[str, Any] = {}
    classes = getattr(estimator, "classes_", None)
    label_map = label_map_of(cfg)
    if classes is None:
        if label_map is not None:
            raise InvalidInputError(
                f"{what} has no classes_, so {LABEL_MAP_KEY} has nothing to translate",
                hint=f"remove --config {LABEL_MAP_KEY}",
            )
        notes.append(f"{what} has no classes_: its labels were not checked")
    else:
        out["classes"] = [str(c) for c in classes]
        check = LabelCheck.of(out["classes"], spec.output.labels, label_map)
        check.raise_if_bad(what, spec.name)
        notes.extend(check.warnings(what))
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        out["feature_names"] = [str(n) for n in names]
        problems = feature_problems(out["feature_names"], spec.model_inputs)
        if problems:
            raise InvalidInputError(
                f"{what} was fitted on other features than {spec.name}'s model_inputs: "
                + "; ".join(problems),
                hint="retrain on a DataFrame with exactly the model_inputs columns "
                f"({', '.join(spec.model_inputs)}), or change model_inputs in liveops.yaml",
            )
    elif len(spec.model_inputs) > 1:
        msg = (
            f"{what} was fitted without feature names: it will receive a numpy array with the "
            f"columns by position, in model_inputs order ({', '.join(spec.model_inputs)}); "
            "fit it on a DataFrame to have the names checked"
        )
        warnings.warn(msg, stacklevel=3)  # once, here, rather than on every prediction
        notes.append(msg)
    return out


def _check_skops(path: Path, trust: Sequence[str]) -> list[str]:
    import skops.io as sio

    try:
        untrusted = list(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise InvalidInputError(f"{path.name} is not a readable skops file: {exc}") from None
    refused = [t for t in untrusted if t not in trust and "*" not in trust]
    if refused:
        raise InvalidInputError(
            f"{path.name} contains types skops does not trust by default: {', '.join(refused)}",
            hint="if you made this file, trust them with --trust TYPE (once each)",
        )
    return untrusted


def _numbers(metrics: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise UsageError(f"metric {k!r} must be a number, got {v!r}")
        out[k] = float(v)
    return out


# --- resolving and aliases --------------------------------------------------------------------


def resolve_version(
    store: Store, ref: str | VersionRef, *, default_service: str | None = None
) -> VersionRecord:
    """The version a reference names: ``svc@3``, ``svc@production``, or ``3`` within a service."""
    vref = (
        ref
        if isinstance(ref, VersionRef)
        else parse_version_ref(ref, default_service=default_service)
    )
    get_service_spec(store, vref.service)
    number = vref.number
    if number is None:
        assert vref.alias is not None
        number = store.registry.get_alias(vref.service, vref.alias)
        if number is None:
            known = ", ".join(sorted(store.registry.aliases_of(vref.service))) or "none"
            raise VersionNotFound(
                f"{vref} does not exist: {vref.service} has no alias {vref.alias!r} "
                f"(aliases: {known})",
                hint=f"point it with `liveops alias set {vref.service} {vref.alias} N`",
            )
    record = store.registry.get_version(vref.service, number)
    if record is None:
        have = [v.number for v in store.registry.list_versions(vref.service)]
        raise VersionNotFound(
            f"{vref.service}@{number} does not exist"
            + (f" (versions 1 to {max(have)})" if have else " (no versions registered yet)"),
            hint=f"list them with `liveops versions list {vref.service}`",
        )
    return record


@dataclass(frozen=True)
class AliasMove:
    service: str
    alias: str
    previous: int | None
    number: int

    def to_dict(self) -> dict[str, Any]:
        """The move; ``from`` and ``to`` repeat ``previous`` and ``number`` (the names the
        management API answered with first)."""
        return {**asdict(self), "from": self.previous, "to": self.number}


def set_alias(
    store: Store, service: str, alias: str, target: str, *, actor: str, reason: str | None = None
) -> AliasMove:
    """Point ``alias`` of ``service`` at a version; every move is an audit event."""
    check_name(alias, "alias")
    if alias.isdigit():
        raise UsageError(f"alias {alias!r} would be read as a version number", hint="use a word")
    version = resolve_version(store, target, default_service=service)
    if version.service != service:
        raise UsageError(f"{version.ref} is a version of another service than {service}")
    check_version_labels(store, version)
    with store.write() as conn:
        previous = store.registry.set_alias(
            conn, service, alias, version.number, actor, store.clock.now()
        )
        if previous != version.number:
            store.audit.append(
                conn,
                actor=actor,
                action="alias.set",
                object_type="alias",
                object_id=f"{service}@{alias}",
                reason=reason,
                data={"from": previous, "to": version.number},
            )
    return AliasMove(service, alias, previous, version.number)


def check_version_labels(
    store: Store, version: VersionRecord, *, project_dir: Path | None = None
) -> None:
    """Refuse ``version`` when its classes (through its label map) are not all labels of its
    service as applied now: ``service apply`` may have changed them since it was registered.

    The classes recorded at registration are used when there are some; otherwise the model is
    loaded (an entry point is called), and one that does not load is left to the gateway."""
    spec = get_service_spec(store, version.service)
    classes = version.lineage.get("classes")
    if classes is None:
        try:
            classes = list(load_model(store, version, project_dir=project_dir).classes)
        except ModelError:
            return
        if not classes:
            return
        check = LabelCheck.of(classes, spec.output.labels, None)  # load_model mapped them
    else:
        check = LabelCheck.of(classes, spec.output.labels, label_map_of(version.config))
    check.raise_if_bad(version.ref, version.service)


def list_versions(store: Store, service: str) -> list[VersionRecord]:
    get_service_spec(store, service)
    return store.registry.list_versions(service)
