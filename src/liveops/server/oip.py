"""The Open Inference Protocol v2 (KServe, Triton): health, model metadata and ``infer``.

``POST /v2/models/{service}/infer`` maps each input tensor to the service's input field of the
same name (BYTES to text and categories, numbers and BOOL to numbers and booleans); the first
dimension is the batch. The instances then take the same path as ``/v1/.../predict``: the
same checks, the decision layer, the fallback chain and the prediction log. Outputs:
``label``, ``decision``, ``prediction_id`` (BYTES), ``confidence`` (FP64), ``version`` (INT64)
and ``scores`` (FP64, ``[batch, labels]`` in the service's label order). Tensors may come as
JSON or in the binary extension (``Inference-Header-Content-Length``); answers are JSON.
Errors are ``{"error": message}`` as the protocol says, with ``code`` and ``hint`` beside it.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liveops.core.access import PUBLIC
from liveops.errors import InvalidInputError, LiveopsError, ServiceNotFound, UsageError
from liveops.server.access import guarded, retry_headers
from liveops.services.serving import Gateway, ServedService

__all__ = ["oip_routes"]

OUTPUTS = ("label", "decision", "prediction_id", "confidence", "version", "scores")
_NUMERIC = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "FP32": "f",
    "FP64": "d",
}
_DATATYPE = {"string": "BYTES", "enum": "BYTES", "integer": "INT64", "number": "FP64"}
BODY_LIMIT = 10_000_000


def _error(exc: LiveopsError) -> JSONResponse:
    body: dict[str, Any] = {"error": exc.message, "code": exc.code}
    if exc.hint:
        body["hint"] = exc.hint
    if exc.details.get("problems"):
        body["details"] = {"problems": exc.details["problems"]}
    return JSONResponse(body, status_code=exc.status, headers=retry_headers(exc) or None)


def _served(gateway: Gateway, name: str) -> ServedService:
    svc = gateway.services.get(name)
    if svc is None or svc.production is None:
        known = ", ".join(sorted(n for n, s in gateway.services.items() if s.production)) or "none"
        raise ServiceNotFound(
            f"unknown model {name!r} (served: {known})", hint="GET /v2/models/NAME of one served"
        )
    return svc


def model_metadata(svc: ServedService) -> dict[str, Any]:
    """What ``GET /v2/models/{name}`` answers."""
    inputs = [
        {"name": n, "datatype": _DATATYPE.get(f.type, "BOOL"), "shape": [-1]}
        for n, f in svc.spec.inputs.items()
    ]
    labels = len(svc.spec.output.labels)
    outputs = [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "decision", "datatype": "BYTES", "shape": [-1]},
        {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
        {"name": "confidence", "datatype": "FP64", "shape": [-1]},
        {"name": "version", "datatype": "INT64", "shape": [-1]},
        {"name": "scores", "datatype": "FP64", "shape": [-1, labels]},
    ]
    return {
        "name": svc.name,
        "versions": [str(svc.production)],
        "platform": "liveops",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"labels": list(svc.spec.output.labels)},
    }


def _split(body: bytes, header_length: str | None) -> tuple[dict[str, Any], bytes]:
    """The JSON header and the binary tail of an infer request."""
    if header_length is None:
        cut = len(body)
    elif header_length.isdigit() and int(header_length) <= len(body):
        cut = int(header_length)
    else:
        raise UsageError(
            f"Inference-Header-Content-Length {header_length[:20]!r} does not fit the body",
            hint="it is the length of the JSON part in bytes",
        )
    try:
        head = orjson.loads(body[:cut])
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the request is not valid JSON: {exc}") from None
    if not isinstance(head, dict):
        raise InvalidInputError("the infer request must be a JSON object with inputs")
    return head, body[cut:]


def _flat(data: Any) -> list[Any]:
    if isinstance(data, list):
        out: list[Any] = []
        for item in data:
            out.extend(_flat(item))
        return out
    return [data]


def _tensor_values(t: dict[str, Any], tail: bytes, offset: int) -> tuple[list[Any], int]:
    """The flat values of one input tensor and the offset after its binary data."""
    dtype = t.get("datatype")
    params = t.get("parameters") or {}
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is None:
        if "data" not in t:
            raise InvalidInputError(f"input {t.get('name')!r} has no data")
        values = _flat(t["data"])
        if dtype == "BYTES":
            values = [v if isinstance(v, str) else None for v in values]
        return values, offset
    if not isinstance(size, int) or size < 0 or offset + size > len(tail):
        raise InvalidInputError(f"input {t.get('name')!r}: binary_data_size does not fit the body")
    raw = tail[offset : offset + size]
    if dtype == "BYTES":
        values, i = [], 0
        while i < len(raw):
            if i + 4 > len(raw):
                raise InvalidInputError(f"input {t.get('name')!r}: truncated BYTES element")
            (n,) = struct.unpack_from("<I", raw, i)
            chunk = raw[i + 4 : i + 4 + n]
            values.append(chunk.decode("utf-8", "replace"))
            i += 4 + n
        return values, offset + size
    code = _NUMERIC.get(str(dtype))
    if code is None:
        raise InvalidInputError(f"input {t.get('name')!r}: datatype {dtype!r} is not supported")
    width = struct.calcsize(code)
    if size % width:
        raise InvalidInputError(f"input {t.get('name')!r}: {size} bytes is not whole {dtype}")
    return list(struct.unpack(f"<{size // width}{code}", raw)), offset + size


def instances_of(svc: ServedService, head: dict[str, Any], tail: bytes) -> list[dict[str, Any]]:
    """The instances an infer request carries (one per row of the first dimension)."""
    inputs = head.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInputError(
            "the infer request needs a non-empty inputs list",
            hint='{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", '
            '"data": ["..."]}]}',
        )
    columns: dict[str, list[Any]] = {}
    offset = 0
    rows: int | None = None
    fields = svc.spec.inputs
    for t in inputs:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise InvalidInputError("each input needs a name, shape, datatype and data")
        name = t["name"]
        if name not in fields:
            raise InvalidInputError(
                f"input {name!r} is not an input of {svc.name}",
                hint=f"its inputs: {', '.join(fields)}",
            )
        shape = t.get("shape")
        if not isinstance(shape, list) or not shape or not all(isinstance(d, int) for d in shape):
            raise InvalidInputError(f"input {name!r} needs a shape such as [batch] or [batch, 1]")
        if any(d != 1 for d in shape[1:]) or shape[0] < 1:
            raise InvalidInputError(
                f"input {name!r}: shape {shape} is not [batch] or [batch, 1]",
                hint="one value per instance and field",
            )
        values, offset = _tensor_values(t, tail, offset)
        if len(values) != shape[0]:
            raise InvalidInputError(f"input {name!r}: {len(values)} values for shape {shape}")
        if rows is not None and shape[0] != rows:
            raise InvalidInputError("every input must have the same batch size (first dimension)")
        rows = shape[0]
        if fields[name].type == "boolean":
            values = [bool(v) if isinstance(v, int | float) else v for v in values]
        columns[name] = values
    return [{n: col[i] for n, col in columns.items()} for i in range(rows or 0)]


def _outputs(svc: ServedService, answers: list[dict[str, Any]], wanted: list[str]) -> list[Any]:
    n = len(answers)
    labels = list(svc.spec.output.labels)

    def num(v: Any) -> float | None:
        return float(v) if isinstance(v, int | float) and math.isfinite(v) else None

    columns: dict[str, tuple[str, list[int], list[Any]]] = {
        "label": ("BYTES", [n], [a.get("label") or "" for a in answers]),
        "decision": ("BYTES", [n], [a["decision"] for a in answers]),
        "prediction_id": ("BYTES", [n], [a["prediction_id"] for a in answers]),
        "confidence": ("FP64", [n], [num(a.get("confidence")) for a in answers]),
        "version": ("INT64", [n], [a.get("version") or -1 for a in answers]),
        "scores": (
            "FP64",
            [n, len(labels)],
            [float((a.get("scores") or {}).get(lab, 0.0)) for a in answers for lab in labels],
        ),
    }
    return [
        {
            "name": name,
            "datatype": columns[name][0],
            "shape": columns[name][1],
            "data": columns[name][2],
        }
        for name in wanted
    ]


def oip_routes(gateway: Gateway) -> list[Route]:
    """The ``/v2`` routes, each behind its permission."""

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        ok = bool(gateway.ready and gateway.readiness()["ready"])
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    async def server(request: Request) -> Response:
        return JSONResponse(
            {"name": "liveops", "version": "1", "extensions": ["binary_tensor_data"]}
        )

    async def metadata(request: Request) -> Response:
        try:
            return JSONResponse(model_metadata(_served(gateway, request.path_params["name"])))
        except LiveopsError as exc:
            return _error(exc)

    async def model_ready(request: Request) -> Response:
        try:
            svc = _served(gateway, request.path_params["name"])
        except LiveopsError as exc:
            return _error(exc)
        ok = gateway.table.route(svc.name) is not None
        return JSONResponse({"name": svc.name, "ready": ok}, status_code=200 if ok else 503)

    async def infer(request: Request) -> Response:
        from liveops.server.app import TIME_HEADER, request_time

        try:
            svc = _served(gateway, request.path_params["name"])
            body = await request.body()
            if len(body) > BODY_LIMIT:
                raise InvalidInputError(f"the body is larger than {BODY_LIMIT} bytes")
            head, tail = _split(body, request.headers.get("inference-header-content-length"))
            instances = instances_of(svc, head, tail)
            wanted = [o.get("name") for o in head.get("outputs") or [] if isinstance(o, dict)]
            unknown = [w for w in wanted if w not in OUTPUTS]
            if unknown:
                raise InvalidInputError(
                    f"unknown output(s) {', '.join(map(str, unknown))}",
                    hint=f"outputs: {', '.join(OUTPUTS)}",
                )
            at = request_time(gateway, request.headers.get(TIME_HEADER.decode()))
            _, checked, _ = gateway.check(svc.name, {"instances": instances})
            caller = request.headers.get("x-liveops-caller")
            sticky_header = gateway.sticky_header(svc.name)
            sticky = request.headers.get(sticky_header) if sticky_header else None
            answers = await gateway.predict(svc, checked, caller, at, sticky)
        except LiveopsError as exc:
            return _error(exc)
        out: dict[str, Any] = {
            "model_name": svc.name,
            "model_version": str(answers[0].get("version") or svc.production),
            "outputs": _outputs(svc, answers, [str(w) for w in wanted] or list(OUTPUTS)),
        }
        if isinstance(head.get("id"), str):
            out["id"] = head["id"]
        return Response(orjson.dumps(out), media_type="application/json")

    def route(path: str, permission: str, handler: Any, method: str = "GET") -> Route:
        return Route(path, guarded(gateway, permission, handler), methods=[method])

    return [
        route("/v2", PUBLIC, server),
        route("/v2/health/live", PUBLIC, live),
        route("/v2/health/ready", PUBLIC, ready),
        route("/v2/models/{name}", "predict", metadata),
        route("/v2/models/{name}/ready", "predict", model_ready),
        route("/v2/models/{name}/infer", "predict", infer, "POST"),
    ]
