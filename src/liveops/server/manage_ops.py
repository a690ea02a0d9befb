"""The management API's operations: each one the same service call a CLI command makes.

An :class:`Op` names its method, path, permission, parameters and the function that answers
it; ``server/manage.py`` turns them into routes and OpenAPI entries. Functions run in a worker
thread with the gateway's store; the actor of a change is the key's owner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveops.core.clock import Clock
from liveops.errors import InvalidInputError
from liveops.server.manage_register import dataset_add, skops_only, version_register
from liveops.services.access import Principal
from liveops.store import Store

__all__ = ["OPS", "Ctx", "Op", "Param"]


@dataclass
class Ctx:
    """What an operation gets: the store, the request's parameters and body, who acts."""

    store: Store
    path: Mapping[str, str]
    query: Mapping[str, Any]
    body: dict[str, Any]
    actor: str
    principal: Principal | None
    project_dir: Path
    clock: Clock

    def may(self, permission: str) -> bool:
        """Whether the caller holds ``permission`` (always, on a gateway without keys)."""
        return self.principal is None or permission in self.principal.permissions


@dataclass(frozen=True)
class Param:
    """A query parameter: ``kind`` is string, integer (with bounds) or list (a string that
    may be repeated: ``?config=a=1&config=b=2``)."""

    name: str
    kind: str = "string"
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    permission: str
    op_id: str
    summary: str
    call: Callable[[Ctx], Any]
    query: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None  # the JSON schema of the body (None: no body)
    errors: tuple[int, ...] = (404,)
    array: bool = False  # the answer is a JSON array
    upload: bool = False  # the body is a file's bytes (kept in a temporary file: body["file"])
    accept: Callable[[str], None] | None = None  # checks an upload's file name before its bytes


def _text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInputError(f"the body needs {key!r}", problems=[{"loc": [key]}])
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{key!r} must be a string", problems=[{"loc": [key]}])
    return value


# --- reads --------------------------------------------------------------------------------


def services_list(c: Ctx) -> list[dict[str, Any]]:
    out = []
    for r in c.store.registry.list_services():
        prod = c.store.registry.get_alias(r.name, "production")
        out.append(
            {**r.to_dict(), "production": prod, "state": "disabled" if r.disabled else "enabled"}
        )
    return out


def service_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.registry import get_service_spec

    name = c.path["name"]
    get_service_spec(c.store, name)
    record = c.store.registry.get_service(name)
    assert record is not None
    return {**record.to_dict(), "aliases": c.store.registry.aliases_of(name)}


def service_describe(c: Ctx) -> dict[str, Any]:
    from liveops.services.describe import describe_service

    return describe_service(c.store, c.path["name"], c.project_dir).to_dict()


def versions_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.registry import list_versions

    return [v.to_dict() for v in list_versions(c.store, c.path["name"])]


def version_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.registry import resolve_version

    name, which = c.path["name"], c.path["version"]
    return resolve_version(c.store, f"{name}@{which}").to_dict()


def aliases_list(c: Ctx) -> dict[str, int]:
    from liveops.services.registry import get_service_spec

    get_service_spec(c.store, c.path["name"])
    return c.store.registry.aliases_of(c.path["name"])


def datasets_list(c: Ctx) -> list[dict[str, Any]]:
    return [d.to_dict(with_profile=False) for d in c.store.datasets.list()]


def dataset_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.datasets import resolve_dataset

    return resolve_dataset(c.store, c.path["ref"]).to_dict()


def runs_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.evaluation import list_runs

    limit = c.query.get("limit") or 50
    return [r.to_dict() for r in list_runs(c.store, c.query.get("service"), limit=limit)]


def run_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.evaluation import get_run

    return get_run(c.store, c.path["id"]).to_dict()


def reviews_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.review import list_reviews

    return [r.to_dict() for r in list_reviews(c.store, c.query.get("service"))]


def review_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.review import get_review, summarise

    return summarise(c.store, get_review(c.store, c.path["id"])).to_dict()


def predictions_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.predictions.queries import recent_predictions

    # The log's ``inputs`` are already redacted (sensitive fields masked by the writer).
    return recent_predictions(c.store, c.query.get("service"), c.query.get("limit") or 20)


def prediction_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.predictions.queries import show_prediction

    row = dict(show_prediction(c.store, c.path["id"]))
    if not c.may("read_raw"):  # raw inputs only for admins
        row["raw_inputs"] = None
        row["raw_redacted"] = True
    return row


def metrics_series(c: Ctx) -> dict[str, Any]:
    from liveops.services.monitoring import metric_series, parse_since

    metric = c.query.get("metric")
    since = parse_since(c.query.get("since") or "24h", c.clock.now())
    series = metric_series(
        c.store,
        c.path["name"],
        metrics=[m.strip() for m in metric.split(",")] if metric else None,
        by=c.query.get("by") or "version",
        window=c.query.get("window") or "1h",
        since=since,
        clock=c.clock,
    )
    return series.to_dict()


def releases_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.releases import list_releases

    return [r.to_dict() for r in list_releases(c.store, c.query.get("service"))]


def release_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.releases import view_release

    # As `liveops release show`: the automatic items brought up to date first (a change of
    # state is stored with one audit event, by the key's owner).
    view = view_release(c.store, c.path["id"], c.project_dir, actor=c.actor)
    return view.to_dict()


# --- changes ------------------------------------------------------------------------------


def alias_set(c: Ctx) -> dict[str, Any]:
    from liveops.services.registry import set_alias

    version = c.body.get("version")
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidInputError(
            "the body needs the version (a number or an alias)", problems=[{"loc": ["version"]}]
        )
    move = set_alias(
        c.store,
        c.path["name"],
        c.path["alias"],
        str(version),
        actor=c.actor,
        reason=_text(c.body, "reason"),
    )
    return move.to_dict()


def _switch(enabled: bool) -> Callable[[Ctx], dict[str, Any]]:
    def call(c: Ctx) -> dict[str, Any]:
        from liveops.services.registry import set_service_enabled

        changed = set_service_enabled(
            c.store, c.path["name"], enabled=enabled, actor=c.actor, reason=_text(c.body, "reason")
        )
        return {"service": c.path["name"], "enabled": enabled, "changed": changed}

    return call


def release_approve(c: Ctx) -> dict[str, Any]:
    from liveops.services.releases import approve

    view = approve(
        c.store,
        c.path["id"],
        c.project_dir,
        actor=c.actor,
        group=_text(c.body, "group"),
        comment=_text(c.body, "comment"),
    )
    return view.to_dict()


def review_submit(c: Ctx) -> dict[str, Any]:
    from liveops.services.review import submit

    scores = c.body.get("scores")
    if not isinstance(scores, dict):
        raise InvalidInputError("the body needs scores (an object)", problems=[{"loc": ["scores"]}])
    done = submit(c.store, c.path["item"], c.actor, scores, note=_text(c.body, "note"))
    return {"item": c.path["item"], "reviewer": c.actor, "scores": len(done)}


def keys_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.access import list_keys

    return [k.to_dict() for k in list_keys(c.store)]


def key_create(c: Ctx) -> dict[str, Any]:
    from liveops.core.access import parse_expiry
    from liveops.services.access import create_key

    expires = _text(c.body, "expires")
    rate = c.body.get("rate_per_s")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
        raise InvalidInputError("rate_per_s must be a number", problems=[{"loc": ["rate_per_s"]}])
    made = create_key(
        c.store,
        _text(c.body, "name", required=True) or "",
        role=_text(c.body, "role", required=True) or "",
        owner=_text(c.body, "owner", required=True) or "",
        actor=c.actor,
        expires_in=parse_expiry(expires) if expires else None,
        rate_per_s=float(rate) if rate is not None else None,
    )
    return {**made.record.to_dict(), "key": made.token}


def key_revoke(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.access import revoke_key

    return [k.to_dict() for k in revoke_key(c.store, c.path["id"], actor=c.actor)]


_REASON = {"type": "object", "properties": {"reason": {"type": "string"}}}
_SERVICE_Q = Param("service", description="only this service")
_LIMIT = Param("limit", "integer", 1, 1000)
OPS: tuple[Op, ...] = (
    Op(
        "GET",
        "/v1/services",
        "read",
        "services_list",
        "The applied services",
        services_list,
        array=True,
        errors=(),
    ),
    Op("GET", "/v1/services/{name}", "read", "service_show", "One service", service_show),
    Op(
        "GET",
        "/v1/services/{name}/describe",
        "read",
        "service_describe",
        "The service's map (as `liveops describe`)",
        service_describe,
    ),
    Op(
        "GET",
        "/v1/services/{name}/versions",
        "read",
        "versions_list",
        "A service's versions",
        versions_list,
        array=True,
    ),
    Op(
        "POST",
        "/v1/services/{name}/versions",
        "operate",
        "version_register",
        "Register a version from a .skops artifact (its bytes; identical content returns the "
        "existing version). A pickle (.joblib, .pkl) is refused: it runs code when loaded",
        version_register,
        upload=True,
        accept=skops_only,
        errors=(400, 404, 422),
        query=(
            Param("filename", description="the artifact's file name: .skops only (required)"),
            Param("config", "list", description="KEY=VALUE, repeated (as --config)"),
            Param("train_dataset", description="NAME or NAME@N"),
            Param("eval_dataset", description="NAME or NAME@N"),
            Param("param", "list", description="a training parameter KEY=VALUE, repeated"),
            Param("metric", "list", description="a metric KEY=NUMBER, repeated"),
            Param("message", description="why this version exists"),
        ),
    ),
    Op(
        "GET",
        "/v1/services/{name}/versions/{version}",
        "read",
        "version_show",
        "One version (number or alias)",
        version_show,
        errors=(400, 404),
    ),
    Op(
        "GET",
        "/v1/services/{name}/aliases",
        "read",
        "aliases_list",
        "A service's aliases",
        aliases_list,
    ),
    Op(
        "PUT",
        "/v1/services/{name}/aliases/{alias}",
        "operate",
        "alias_set",
        "Point an alias at a version",
        alias_set,
        errors=(400, 404, 409, 422),
        body={
            "type": "object",
            "properties": {
                "version": {"type": ["integer", "string"]},
                "reason": {"type": "string"},
            },
            "required": ["version"],
        },
    ),
    Op(
        "POST",
        "/v1/services/{name}/disable",
        "operate",
        "service_disable",
        "The kill switch: stop serving the model (the fallback answers)",
        _switch(False),
        body=_REASON,
        errors=(404, 422),
    ),
    Op(
        "POST",
        "/v1/services/{name}/enable",
        "operate",
        "service_enable",
        "Serve the model again",
        _switch(True),
        body=_REASON,
        errors=(404, 422),
    ),
    Op(
        "GET",
        "/v1/services/{name}/metrics",
        "read",
        "metrics_series",
        "The monitor's windows of a service as series",
        metrics_series,
        errors=(400, 404),
        query=(
            Param("metric", description="a metric name, or several separated by commas"),
            Param("by", enum=("version", "arm", "slice")),
            Param("window"),
            Param("since", description="e.g. 24h, 7d"),
        ),
    ),
    Op(
        "GET",
        "/v1/datasets",
        "read",
        "datasets_list",
        "Datasets (metadata)",
        datasets_list,
        array=True,
        errors=(),
    ),
    Op(
        "GET",
        "/v1/datasets/{ref}",
        "read",
        "dataset_show",
        "One dataset and its profile",
        dataset_show,
        errors=(400, 404),
    ),
    Op(
        "POST",
        "/v1/datasets",
        "operate",
        "dataset_add",
        "Add a dataset file (its bytes; the same content again is a no-op)",
        dataset_add,
        upload=True,
        errors=(400, 422),
        query=(
            Param("name", description="the dataset's name; versions are NAME@N (required)"),
            Param("filename", description="the file's name: .csv, .parquet or .jsonl (required)"),
            Param("reference_cap", "integer", 1, 10_000_000, description="rows kept for drift"),
        ),
    ),
    Op(
        "GET",
        "/v1/runs",
        "read",
        "runs_list",
        "Evaluation runs",
        runs_list,
        query=(_SERVICE_Q, _LIMIT),
        array=True,
        errors=(400, 404),
    ),
    Op("GET", "/v1/runs/{id}", "read", "run_show", "One evaluation run", run_show),
    Op(
        "GET",
        "/v1/reviews",
        "read",
        "reviews_list",
        "Reviews",
        reviews_list,
        query=(_SERVICE_Q,),
        array=True,
        errors=(),
    ),
    Op("GET", "/v1/reviews/{id}", "read", "review_show", "One review's progress", review_show),
    Op(
        "POST",
        "/v1/review-items/{item}/scores",
        "review",
        "review_submit",
        "Submit scores for a review item (the reviewer is the key's owner)",
        review_submit,
        errors=(404, 422),
        body={
            "type": "object",
            "properties": {"scores": {"type": "object"}, "note": {"type": "string"}},
            "required": ["scores"],
        },
    ),
    Op(
        "GET",
        "/v1/predictions",
        "read",
        "predictions_list",
        "Recent logged answers (inputs redacted)",
        predictions_list,
        query=(_SERVICE_Q, _LIMIT),
        array=True,
        errors=(400,),
    ),
    Op(
        "GET",
        "/v1/predictions/{id}",
        "read",
        "prediction_show",
        "One logged answer; raw inputs only for admin keys",
        prediction_show,
    ),
    Op(
        "GET",
        "/v1/releases",
        "read",
        "releases_list",
        "Releases",
        releases_list,
        query=(_SERVICE_Q,),
        array=True,
        errors=(404,),
    ),
    Op("GET", "/v1/releases/{id}", "read", "release_show", "One release", release_show),
    Op(
        "POST",
        "/v1/releases/{id}/approve",
        "approve",
        "release_approve",
        "Approve a release (as the key's owner)",
        release_approve,
        errors=(404, 409, 422),
        body={
            "type": "object",
            "properties": {"group": {"type": "string"}, "comment": {"type": "string"}},
        },
    ),
    Op(
        "GET",
        "/v1/keys",
        "manage_keys",
        "keys_list",
        "API keys (never the keys themselves)",
        keys_list,
        array=True,
        errors=(),
    ),
    Op(
        "POST",
        "/v1/keys",
        "manage_keys",
        "key_create",
        "Make a key (answered once)",
        key_create,
        errors=(400, 422),
        body={
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "role": {"type": "string"},
                "owner": {"type": "string"},
                "expires": {"type": "string"},
                "rate_per_s": {"type": "number"},
            },
            "required": ["name", "role", "owner"],
        },
    ),
    Op(
        "DELETE",
        "/v1/keys/{id}",
        "manage_keys",
        "key_revoke",
        "Revoke a key (id, prefix or name)",
        key_revoke,
        array=True,
        errors=(400, 404),
    ),
)
