"""The OpenAPI 3.1 document of the gateway: predict per served service, feedback, outcomes,
health.

Each service's request schema comes from its declared ``inputs``, so a client generator (or
schemathesis) sees exactly what the gateway accepts.

>>> from liveops.core.project import parse_project
>>> from liveops.services.serving import ServedService
>>> spec = parse_project('''
... services:
...   - {name: echo, owner: me, inputs: {text: {type: string, required: true}},
...      output: {labels: [a, b]}}
... ''').services[0]
>>> doc = openapi_document({"echo": ServedService.build("echo", spec, "h", False, 1)})
>>> [p for p in sorted(doc["paths"]) if p.startswith(("/healthz", "/readyz", "/v1/d", "/v1/f"))]
['/healthz', '/readyz', '/v1/datasets', '/v1/datasets/{ref}', '/v1/feedback']
>>> "/v1/keys" in doc["paths"], "/v1/incidents/{id}" in doc["paths"]
(True, True)
>>> doc["paths"]["/v1/services/echo/predict"]["post"]["operationId"]
'predict_echo'
>>> doc["security"], doc["paths"]["/healthz"]["get"]["security"]
([{'key': []}], [])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from liveops.core.serving.inputs import input_schema
from liveops.server.manage import management_paths
from liveops.services.serving import ServedService

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "hint": {"type": "string"},
        "details": {"type": "object"},
    },
    "required": ["error", "message"],
}


def _prediction(labels: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "prediction_id": {"type": "string"},
            "label": {"anyOf": [{"type": "string", "enum": labels}, {"type": "null"}]},
            "confidence": {"type": ["number", "null"]},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "version": {"type": ["integer", "null"]},
            "decision": {
                "type": "string",
                "enum": ["automatic", "human_review", "fallback", "abstain"],
            },
            "fallback": {"type": ["string", "null"]},
            "reason": {"type": ["string", "null"]},
        },
        "required": ["prediction_id", "label", "decision", "version", "fallback"],
    }


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed request (not JSON)",
        404: "Unknown service or prediction id",
        413: "Body over the limit",
        422: "Does not fit the schema (details.problems lists each field)",
        429: "Queue full: retry after Retry-After",
        503: "No model or fallback can answer now",
    }
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(c): {"description": text[c], "content": content} for c in codes}


def _predict_op(svc: ServedService) -> dict[str, Any]:
    instance = input_schema(svc.spec.inputs)
    one = {
        "type": "object",
        "properties": {"inputs": instance},
        "required": ["inputs"],
        "additionalProperties": False,
    }
    many = {
        "type": "object",
        "properties": {
            "instances": {"type": "array", "items": instance, "minItems": 1, "maxItems": 1000}
        },
        "required": ["instances"],
        "additionalProperties": False,
    }
    pred = _prediction(svc.spec.output.labels)
    return {
        "post": {
            "operationId": f"predict_{svc.name}",
            "summary": f"Answer {svc.name} for one instance (inputs) or several (instances)",
            "parameters": [
                {
                    "name": "X-Liveops-Caller",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"oneOf": [one, many]}}},
            },
            "responses": {
                "200": {
                    "description": "One prediction, or {predictions: [...]} for instances",
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    pred,
                                    {
                                        "type": "object",
                                        "properties": {
                                            "predictions": {"type": "array", "items": pred}
                                        },
                                        "required": ["predictions"],
                                    },
                                ]
                            }
                        }
                    },
                },
                **_errors(400, 404, 413, 422, 429, 503),
            },
        }
    }


_TIME_HEADER = {
    "name": "X-Liveops-Time",
    "in": "header",
    "required": False,
    "description": "The request's own time (ISO-8601 or seconds since the epoch); only on a "
    "gateway started with --allow-time-override",
    "schema": {"type": "string"},
}


def openapi_document(
    services: Mapping[str, ServedService], time_override: bool = False, auth: bool = True
) -> dict[str, Any]:
    """The document for the services served now (a service without production is left out).
    ``time_override``: the gateway takes the ``X-Liveops-Time`` header (documented then);
    ``auth``: routes need an API key (a bearer token), except the public ones."""
    paths: dict[str, Any] = {
        f"/v1/services/{name}/predict": _predict_op(svc)
        for name, svc in sorted(services.items())
        if svc.production is not None
    }
    paths["/v1/outcomes"] = {
        "post": {
            "operationId": "outcome",
            "summary": "A named outcome of an answered prediction (resolved, refunded, ...)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "prediction_id": {"type": "string"},
                                "outcome": {
                                    "type": "string",
                                    "pattern": "^[a-z][a-z0-9_]{0,63}$",
                                },
                                "value": {"type": ["number", "null"]},
                                "source": {"type": ["string", "null"]},
                            },
                            "required": ["prediction_id", "outcome"],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Stored (or already stored)",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_errors(400, 404, 413, 422, 503),
            },
        }
    }
    paths["/v1/feedback"] = {
        "post": {
            "operationId": "feedback",
            "summary": "A label, rating or correction for an answered prediction",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "prediction_id": {"type": "string"},
                                "source": {"type": ["string", "null"]},
                                "label": {"type": ["string", "null"]},
                                "rating": {"type": ["number", "null"]},
                                "correction": {"type": ["string", "null"]},
                                "comment": {"type": ["string", "null"]},
                            },
                            "required": ["prediction_id"],
                            "anyOf": [
                                {"required": [k], "properties": {k: {"type": t}}}
                                for k, t in (
                                    ("label", "string"),
                                    ("rating", "number"),
                                    ("correction", "string"),
                                )
                            ],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Stored (or already stored)",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_errors(400, 404, 422, 503),
            },
        }
    }
    for path, what in (("/healthz", "The process is up"), ("/readyz", "Models loaded")):
        paths[path] = {
            "get": {
                "operationId": path.strip("/"),
                "summary": what,
                "responses": {
                    "200": {
                        "description": what,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **(
                        {
                            "503": {
                                "description": "Not ready yet",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            }
                        }
                        if path == "/readyz"
                        else {}
                    ),
                },
            }
        }
    if time_override:
        for path in paths:
            if path.startswith("/v1/"):
                op = paths[path]["post"]
                op["parameters"] = [*op.get("parameters", []), _TIME_HEADER]
    paths.update(oip_paths())
    paths.update(management_paths())
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "liveops gateway", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}},
    }
    if auth:
        doc["components"]["securitySchemes"] = {"key": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"key": []}]
        for path in PUBLIC_PATHS:
            for op in paths.get(path, {}).values():
                op["security"] = []
    return doc


PUBLIC_PATHS = ("/healthz", "/readyz", "/v2", "/v2/health/live", "/v2/health/ready")


def oip_paths() -> dict[str, Any]:
    """The Open Inference Protocol v2 routes (server/oip.py)."""
    obj = {"application/json": {"schema": {"type": "object"}}}
    err = {"description": "Error", "content": obj}

    def get(op_id: str, what: str, *codes: int) -> dict[str, Any]:
        return {
            "get": {
                "operationId": op_id,
                "summary": what,
                "responses": {"200": {"description": what, "content": obj}}
                | {str(c): err for c in codes},
            }
        }

    name = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    tensor = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string"},
            "data": {"type": "array"},
        },
        "required": ["name", "shape", "datatype"],
    }
    infer = {
        "post": {
            "operationId": "oip_infer",
            "summary": "Open Inference Protocol v2 inference (same checks, decision and log)",
            "parameters": name,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "inputs": {"type": "array", "items": tensor, "minItems": 1},
                                "outputs": {"type": "array", "items": {"type": "object"}},
                            },
                            "required": ["inputs"],
                        }
                    }
                },
            },
            "responses": {"200": {"description": "Outputs", "content": obj}}
            | {str(c): err for c in (400, 401, 403, 404, 422, 429, 503)},
        }
    }
    out = {
        "/v2": get("oip_server", "Server metadata"),
        "/v2/health/live": get("oip_live", "The process is up"),
        "/v2/health/ready": get("oip_ready", "Models loaded", 503),
        "/v2/models/{name}": get("oip_model", "Model metadata", 401, 403, 404),
        "/v2/models/{name}/ready": get("oip_model_ready", "Model ready", 401, 403, 404, 503),
        "/v2/models/{name}/infer": infer,
    }
    for path in ("/v2/models/{name}", "/v2/models/{name}/ready"):
        out[path]["get"]["parameters"] = name
    return out
