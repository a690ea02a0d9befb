"""The management API under ``/v1/``: routes and OpenAPI entries from ``manage_ops.OPS``
and ``manage_ops_live.LIVE_OPS``.

Every operation checks the key's permission first, validates its query parameters, reads a
JSON body where it takes one, runs its service call in a worker thread and answers JSON; an
error answers its status with ``{"error", "message", "hint"}``.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from liveops.errors import InvalidInputError, LiveopsError, ModelUnavailableError, UsageError
from liveops.server.access import actor_of, error_response, guarded
from liveops.server.manage_ops import OPS, Ctx, Op, Param
from liveops.server.manage_ops_live import LIVE_OPS
from liveops.services.serving import Gateway

__all__ = ["management_paths", "management_routes"]

BODY_LIMIT = 100_000
UPLOAD_LIMIT = 200_000_000  # an uploaded file's bytes (a dataset, a model artifact)
ALL_OPS: tuple[Op, ...] = (*OPS, *LIVE_OPS)


def _query(op: Op, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems = []
    for p in op.query:
        if p.kind == "list":
            if values := request.query_params.getlist(p.name):
                out[p.name] = values
            continue
        raw = request.query_params.get(p.name)
        if raw is None:
            continue
        if p.kind == "integer":
            if not raw.strip().lstrip("-").isdigit():
                problems.append({"loc": ["query", p.name], "msg": "must be a whole number"})
                continue
            value = int(raw)
            low, high = p.minimum, p.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                problems.append(
                    {"loc": ["query", p.name], "msg": f"must be between {low} and {high}"}
                )
                continue
            out[p.name] = value
        else:
            if p.enum is not None and raw not in p.enum:
                problems.append({"loc": ["query", p.name], "msg": f"one of {', '.join(p.enum)}"})
                continue
            out[p.name] = raw
    if problems:
        raise UsageError(f"bad query parameters ({len(problems)})", problems=problems)
    return out


async def _body(op: Op, request: Request) -> dict[str, Any]:
    if op.body is None:
        return {}
    raw = await request.body()
    if len(raw) > BODY_LIMIT:
        raise InvalidInputError(f"the body is larger than {BODY_LIMIT} bytes")
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError("the body must be a JSON object")
    known = set(op.body.get("properties", {}))
    extra = [k for k in data if k not in known]
    if extra:
        raise InvalidInputError(
            f"unknown field(s) {', '.join(extra)}",
            hint=f"fields: {', '.join(sorted(known))}",
            problems=[{"loc": [k], "msg": "unknown field"} for k in extra],
        )
    return data


async def _upload(request: Request, folder: Path, op: Op) -> dict[str, Any]:
    """The body's bytes in a file of ``folder`` named like ``?filename=`` (its last part, with
    only safe characters: its suffix tells the format), once ``op.accept`` takes the name."""
    given = request.query_params.get("filename") or ""
    if not given.strip():
        raise UsageError(
            "an upload needs ?filename= (the file's name, e.g. cases.csv)",
            problems=[{"loc": ["query", "filename"], "msg": "required"}],
        )
    name = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(given.replace("\\", "/")).name)
    target = folder / (name.lstrip(".")[:120] or "upload")
    if op.accept is not None:
        op.accept(target.name)
    size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > UPLOAD_LIMIT:
                raise InvalidInputError(
                    f"the file is larger than {UPLOAD_LIMIT:,} bytes",
                    hint="run the command where the project is (without LIVEOPS_URL)",
                )
            out.write(chunk)
    return {"file": target}


def _handler(gateway: Gateway, op: Op) -> Any:
    async def handle(request: Request) -> Response:
        try:
            store = gateway.store
            if store is None:
                raise ModelUnavailableError("the gateway is still starting", hint="retry shortly")
            # An upload's bytes wait in a temporary folder, removed when the call returns.
            spool = tempfile.TemporaryDirectory(prefix="liveops-upload-") if op.upload else None
            with spool or contextlib.nullcontext("") as folder:
                query = _query(op, request)
                body = await (
                    _upload(request, Path(folder), op) if op.upload else _body(op, request)
                )
                ctx = Ctx(
                    store=store,
                    path={k: str(v) for k, v in request.path_params.items()},
                    query=query,
                    body=body,
                    actor=actor_of(request),
                    principal=getattr(request.state, "principal", None),
                    project_dir=gateway.project_dir,
                    clock=store.clock,
                )
                result = await run_in_threadpool(partial(op.call, ctx))
        except LiveopsError as exc:
            return error_response(exc)
        return Response(orjson.dumps(result, default=str), media_type="application/json")

    handle.__name__ = op.op_id
    return handle


def management_routes(gateway: Gateway) -> list[Route]:
    """The ``/v1/`` management routes, each behind its permission."""
    return [
        Route(op.path, guarded(gateway, op.permission, _handler(gateway, op)), methods=[op.method])
        for op in ALL_OPS
    ]


_ERRORS = {
    400: "Malformed request",
    401: "No key, or an unknown, revoked or expired one",
    403: "The key's role does not allow this",
    404: "Not found",
    409: "The state does not allow this now",
    422: "Does not fit",
    429: "Rate limited: retry after Retry-After",
    503: "Starting up or the database is unavailable",
}


def _param_schema(p: Param) -> dict[str, Any]:
    if p.kind == "list":
        return {"type": "array", "items": {"type": "string"}}
    if p.kind == "integer":
        schema: dict[str, Any] = {"type": "integer"}
        if p.minimum is not None:
            schema["minimum"] = p.minimum
        if p.maximum is not None:
            schema["maximum"] = p.maximum
        return schema
    return {"type": "string", "enum": list(p.enum)} if p.enum else {"type": "string"}


def management_paths() -> dict[str, Any]:
    """The OpenAPI ``paths`` of the management API."""
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    paths: dict[str, Any] = {}
    for op in ALL_OPS:
        params: list[dict[str, Any]] = [
            {"name": seg[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for seg in op.path.split("/")
            if seg.startswith("{")
        ]
        params += [
            {
                "name": p.name,
                "in": "query",
                "required": False,
                "schema": _param_schema(p),
                **({"description": p.description} if p.description else {}),
            }
            for p in op.query
        ]
        answer = {"type": "array", "items": {"type": "object"}} if op.array else {"type": "object"}
        codes = sorted({*op.errors, 401, 403, 503})
        entry: dict[str, Any] = {
            "operationId": op.op_id,
            "summary": op.summary,
            "description": f"Permission: `{op.permission}` (docs/access.md).",
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
                **{str(c): {"description": _ERRORS[c], "content": ref} for c in codes},
            },
        }
        if op.upload:
            binary = {"type": "string", "format": "binary"}
            entry["requestBody"] = {
                "required": True,
                "content": {"application/octet-stream": {"schema": binary}},
            }
        if op.body is not None:
            entry["requestBody"] = {
                "required": "required" in op.body,
                "content": {
                    "application/json": {"schema": {**op.body, "additionalProperties": False}}
                },
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return paths
