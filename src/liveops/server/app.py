"""The gateway's ASGI app: a raw handler for predict (the hot path), Starlette for the rest.

``create_app(project_dir)`` builds the app; ``app_from_env()`` is the factory uvicorn calls in
each worker process (``liveops serve`` puts the settings in ``LIVEOPS_SERVE_OPTIONS``).

Routes: ``POST /v1/services/{name}/predict``, ``POST /v1/feedback``, ``POST /v1/outcomes``,
``GET /healthz``, ``/readyz``, ``/metrics`` and ``/openapi.json``, the Open Inference Protocol
under ``/v2`` (``oip.py``) and the management API under ``/v1`` (``manage.py``). Every route
states its permission; requests carry an API key unless the gateway runs with ``--no-auth``
(``access.py``, docs/access.md). With the gateway's
``allow_time_override``, predict, feedback and outcomes take the request's time from the
``X-Liveops-Time`` header (ISO-8601 or seconds since the epoch); without it, that header is a
400. Models load in the background after the
socket is bound, so ``/healthz`` answers at once and ``/readyz`` says when models are loaded.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liveops.core.access import PUBLIC
from liveops.core.clock import AdvancingClock, Clock, FixedClock
from liveops.core.serving.prediction import PredictionSink
from liveops.errors import InvalidInputError, LiveopsError, ModelUnavailableError, UsageError
from liveops.server.access import (
    check_scope,
    error_response,
    guarded,
    permission_of,
    retry_headers,
)
from liveops.server.manage import management_routes
from liveops.server.metrics import CONTENT_TYPE_LATEST, render_metrics
from liveops.server.oip import oip_routes
from liveops.server.openapi import openapi_document
from liveops.services.serving import Gateway, ServeOptions
from liveops.store import Store, open_store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ENV_OPTIONS = "LIVEOPS_SERVE_OPTIONS"
ENV_SINK = "LIVEOPS_PREDICTION_SINK"  # module:callable(store, project_dir) -> PredictionSink
PREFIX = b"/v1/services/"
JSON_HEADERS = [(b"content-type", b"application/json")]


Handler = Callable[[Request], Awaitable[Response]]


class _TooLarge(Exception):
    pass


class GatewayApp:
    """The ASGI callable: predict is handled here, everything else by Starlette."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.body_limit = gateway.options.body_limit
        self.rest = _rest_app(gateway)

    def routes(self) -> list[tuple[str, str, str]]:
        """``(method, path, permission)`` of every route (docs/access.md lists them; a test
        walks each with every role). A route without a stated permission is a bug: it says
        ``None`` here and the test fails."""
        out = [("POST", "/v1/services/{name}/predict", "predict")]
        for route in self.rest.routes:
            if isinstance(route, Route):
                for method in sorted((route.methods or set()) - {"HEAD"}):
                    out.append((method, route.path, str(permission_of(route.endpoint))))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/v1/services/") and path.endswith("/predict"):
                await self._predict(scope, receive, send, path[13:-8])
                return
        await self.rest(scope, receive, send)

    async def _predict(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        t0 = time.perf_counter()
        gw = self.gateway
        svc_label = name if name in gw.services else "-"
        status = 200
        try:
            if scope["method"] != "POST":
                await _send(
                    send,
                    405,
                    _error_body(
                        UsageError(
                            f"{scope['method']} is not allowed here",
                            hint="send POST with a JSON body",
                        )
                    ),
                    [(b"allow", b"POST")],
                )
                status = 405
                return
            if gw.auth is not None:  # the key first: nothing of the body is read without it
                check_scope(gw, scope, "predict")
            body = await _read_body(scope, receive, self.body_limit)
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise UsageError(
                    f"the body is not valid JSON: {exc}",
                    hint='send {"inputs": {...}} or {"instances": [...]}',
                ) from None
            at = request_time(gw, _header(scope, TIME_HEADER))
            svc, instances, single = gw.check(name, data)
            caller = _header(scope, b"x-liveops-caller")
            sticky_header = gw.sticky_header(name)  # a rollout's sticky key, if it is a header
            sticky = _header(scope, sticky_header.encode()) if sticky_header else None
            answers = await gw.predict(svc, instances, caller, at, sticky)
            out = answers[0] if single else {"predictions": answers}
            await _send(send, 200, orjson.dumps(out))
        except _TooLarge:
            status = 413
            msg = f"the body is larger than {self.body_limit} bytes"
            err = LiveopsError(msg, hint="send fewer instances per request")
            await _send(send, 413, orjson.dumps({**err.to_dict(), "error": "too_large"}))
        except LiveopsError as exc:
            status = exc.status
            extra = [(k.encode(), v.encode()) for k, v in retry_headers(exc).items()]
            await _send(send, status, _error_body(exc), extra)
        finally:
            m = gw.metrics
            route = gw.table.route(name)
            version = str(route.arms[0].version) if route and route.arms else "-"
            arm = route.arms[0].name if route and route.arms else "-"
            labels = (svc_label, version, arm)
            gw.requests.add(svc_label, status)  # for the next heartbeat tick
            m.child(m.requests, *labels, str(status)).inc()
            m.child(m.latency, *labels).observe(time.perf_counter() - t0)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise UsageError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


TIME_HEADER = b"x-liveops-time"


def request_time(gateway: Gateway, value: str | None) -> float | None:
    """The time an ``X-Liveops-Time`` header gives (seconds since the epoch), which moves the
    gateway's simulated clock; None without the header. A 400 when the gateway does not allow
    a time override, or the value is not a time."""
    if value is None:
        return None
    if not gateway.options.allow_time_override:
        raise UsageError(
            "this gateway does not take a request's time (the X-Liveops-Time header)",
            hint="leave the header out; to replay traffic with its own times, start the "
            "gateway with `liveops serve --allow-time-override` (loopback addresses only)",
        )
    at = parse_time(value)
    clock = gateway.clock
    if isinstance(clock, AdvancingClock):
        clock.advance_to(at)
    return at.timestamp()


def parse_time(value: str) -> datetime:
    """ISO-8601 (UTC when no zone is given) or seconds since the epoch; a 400 otherwise.

    >>> parse_time("2026-03-01T12:00:00Z").isoformat()
    '2026-03-01T12:00:00+00:00'
    >>> parse_time("1772366400").isoformat()
    '2026-03-01T12:00:00+00:00'
    """
    text = value.strip()
    try:
        try:
            seconds = float(text)
        except ValueError:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        if not math.isfinite(seconds):
            raise ValueError(text)
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"X-Liveops-Time {text[:40]!r} is not a time",
            hint="send ISO-8601 (2026-03-01T12:00:00Z) or seconds since the epoch",
        ) from None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _error_body(exc: LiveopsError) -> bytes:
    return orjson.dumps(exc.to_dict(), default=str)


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *JSON_HEADERS,
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the other routes (Starlette) -------------------------------------------------------------


def _rest_app(gateway: Gateway) -> Starlette:
    error = error_response

    async def healthz(request: Request) -> Response:
        up = round(time.monotonic() - gateway.started_at, 3)
        return JSONResponse({"status": "ok", "pid": os.getpid(), "uptime_s": up})

    async def readyz(request: Request) -> Response:
        report = gateway.readiness()
        db_or_spool = report["database_ok"] or gateway.sink is not None
        ok = bool(report["ready"]) and db_or_spool
        return JSONResponse(report, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(render_metrics, gateway.metrics)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        return Response(
            orjson.dumps(
                openapi_document(
                    gateway.services,
                    gateway.options.allow_time_override,
                    auth=gateway.auth is not None,
                )
            ),
            media_type="application/json",
        )

    feedback = _feedback_handler(gateway, error)
    outcomes = _outcome_handler(gateway, error)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "usage")
        msg = f"{request.method} {request.url.path}: " + (
            "no such route" if status == 404 else "method not allowed"
        )
        return JSONResponse(
            {"error": code, "message": msg, "hint": "see /openapi.json"},
            status_code=status,
            headers=getattr(exc, "headers", None),  # 405 carries Allow
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway.start()
        try:
            yield
        finally:
            await run_in_threadpool(gateway.stop)

    def route(path: str, permission: str, handler: Handler, method: str = "GET") -> Route:
        return Route(path, guarded(gateway, permission, handler), methods=[method])

    return Starlette(
        routes=[
            route("/healthz", PUBLIC, healthz),
            route("/readyz", PUBLIC, readyz),
            route("/metrics", "read", metrics),
            route("/openapi.json", PUBLIC, openapi),
            route("/v1/feedback", "predict", feedback, "POST"),
            route("/v1/outcomes", "predict", outcomes, "POST"),
            *oip_routes(gateway),
            *management_routes(gateway),
        ],
        exception_handlers={404: not_found, 405: not_found},
        lifespan=lifespan,
    )


async def _json_body(request: Request, what: str) -> Any:
    """The parsed body of a feedback or outcome request, or the 413 response to send."""
    try:  # the predict route's reader: refused by Content-Length or at the limit
        body = await _read_body(request.scope, request.receive, FEEDBACK_LIMIT)
    except _TooLarge:
        msg = f"the {what} body is larger than {FEEDBACK_LIMIT} bytes"
        hint = f"send one {what} item per request; keep comments short"
        return JSONResponse({"error": "too_large", "message": msg, "hint": hint}, status_code=413)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the body is not valid JSON: {exc}") from None


def _feedback_handler(gateway: Gateway, error: Callable[[LiveopsError], Response]) -> Handler:
    async def feedback(request: Request) -> Response:
        try:
            data = await _json_body(request, "feedback")
            if isinstance(data, Response):
                return data
            kwargs = _feedback_args(data, request.headers.get("x-liveops-caller"))
            clock = _clock_of(gateway, request)
            if gateway.store is None or gateway.sink is None:
                raise ModelUnavailableError("the gateway is still starting", hint="retry shortly")
            from liveops.services.predictions import record_feedback

            specs = {name: svc.spec for name, svc in gateway.services.items()}
            result = await run_in_threadpool(
                partial(record_feedback, clock=clock, services=specs),
                gateway.store,
                gateway.sink,
                **kwargs,
            )
            return JSONResponse(result.to_dict(), status_code=200)
        except LiveopsError as exc:
            return error(exc)

    return feedback


def _outcome_handler(gateway: Gateway, error: Callable[[LiveopsError], Response]) -> Handler:
    async def outcome(request: Request) -> Response:
        try:
            data = await _json_body(request, "outcome")
            if isinstance(data, Response):
                return data
            kwargs = _outcome_args(data, request.headers.get("x-liveops-caller"))
            clock = _clock_of(gateway, request)
            if gateway.store is None or gateway.sink is None:
                raise ModelUnavailableError("the gateway is still starting", hint="retry shortly")
            from liveops.services.predictions.outcomes import record_outcome

            result = await run_in_threadpool(
                partial(record_outcome, clock=clock), gateway.store, gateway.sink, **kwargs
            )
            return JSONResponse(result.to_dict(), status_code=200)
        except LiveopsError as exc:
            return error(exc)

    return outcome


FEEDBACK_LIMIT = 100_000  # bytes
FEEDBACK_FIELDS = ("prediction_id", "source", "label", "rating", "correction", "comment")


def _feedback_args(data: Any, caller: str | None) -> dict[str, Any]:
    """Check the feedback body's shape; the prediction log checks the values."""
    if not isinstance(data, dict):
        raise InvalidInputError("the feedback body must be a JSON object")
    problems = [{"loc": [k], "msg": "unknown field"} for k in data if k not in FEEDBACK_FIELDS]
    pid = data.get("prediction_id")
    if not isinstance(pid, str) or not pid:
        problems.append({"loc": ["prediction_id"], "msg": "must be the prediction id string"})
    for key in ("source", "label", "correction", "comment"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append({"loc": [key], "msg": "must be a string"})
    rating = data.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int | float)):
        problems.append({"loc": ["rating"], "msg": "must be a number"})
    if all(data.get(k) is None for k in ("label", "rating", "correction")):
        problems.append({"loc": [], "msg": "give a label, a rating or a correction"})
    if problems:
        raise InvalidInputError(
            f"the feedback does not fit ({len(problems)} problem(s))",
            hint='e.g. {"prediction_id": "01J...", "label": "billing"}',
            problems=problems,
        )
    source = data.get("source") or caller or "api"
    kwargs = {k: data.get(k) for k in ("label", "rating", "correction", "comment")}
    return {"prediction_id": pid, "source": source, **kwargs}


OUTCOME_FIELDS = ("prediction_id", "source", "outcome", "value")


def _outcome_args(data: Any, caller: str | None) -> dict[str, Any]:
    """Check the outcome body's shape; :func:`record_outcome` checks the values."""
    if not isinstance(data, dict):
        raise InvalidInputError("the outcome body must be a JSON object")
    problems = [{"loc": [k], "msg": "unknown field"} for k in data if k not in OUTCOME_FIELDS]
    pid = data.get("prediction_id")
    if not isinstance(pid, str) or not pid:
        problems.append({"loc": ["prediction_id"], "msg": "must be the prediction id string"})
    for key in ("source", "outcome"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append({"loc": [key], "msg": "must be a string"})
    if data.get("outcome") is None:
        problems.append({"loc": ["outcome"], "msg": "name the outcome (e.g. resolved)"})
    value = data.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        problems.append({"loc": ["value"], "msg": "must be a number"})
    if problems:
        raise InvalidInputError(
            f"the outcome does not fit ({len(problems)} problem(s))",
            hint='e.g. {"prediction_id": "01J...", "outcome": "refunded", "value": 20}',
            problems=problems,
        )
    return {
        "prediction_id": pid,
        "source": data.get("source") or caller or "api",
        "outcome": data["outcome"],
        "value": value,
    }


def _clock_of(gateway: Gateway, request: Request) -> Clock | None:
    """A clock at the request's own time (X-Liveops-Time), else the gateway's simulated clock,
    else None (the wall clock)."""
    at = request_time(gateway, request.headers.get(TIME_HEADER.decode()))
    if at is not None:
        return FixedClock(datetime.fromtimestamp(at, UTC))
    return None if gateway.wall_clock else gateway.clock


# --- construction ------------------------------------------------------------------------------


def default_sink(store: Store, project_dir: Path) -> PredictionSink:
    """The prediction log (or ``LIVEOPS_PREDICTION_SINK=module:callable`` for integrations)."""
    spec = os.environ.get(ENV_SINK)
    if spec:
        from liveops.services.registry import load_callable

        sink: PredictionSink = load_callable(spec, search_path=project_dir)(store, project_dir)
        return sink
    from liveops.services.predictions import LogSettings, open_prediction_log
    from liveops.services.registry import get_service_spec

    specs = [get_service_spec(store, s.name) for s in store.registry.list_services()]
    return open_prediction_log(store, project_dir, LogSettings.for_services(specs))


def create_app(
    project_dir: Path,
    options: ServeOptions | None = None,
    *,
    database_url: str | None = None,
    open_sink: Callable[[Store, Path], PredictionSink] = default_sink,
) -> GatewayApp:
    """The gateway app for the project in ``project_dir`` (nothing loads until start-up)."""

    def store_factory() -> Store:
        return open_store(database_url, project_dir=project_dir)

    gateway = Gateway(store_factory, open_sink, project_dir, options)
    return GatewayApp(gateway)


def app_from_env() -> GatewayApp:
    """The factory uvicorn calls in each worker (settings from ``LIVEOPS_SERVE_OPTIONS``)."""
    raw = json.loads(os.environ.get(ENV_OPTIONS, "{}"))
    project_dir = Path(raw.pop("project_dir", os.getcwd()))
    database_url = raw.pop("database_url", None)
    announce = bool(raw.pop("announce", False))
    app = create_app(project_dir, ServeOptions(**raw), database_url=database_url)
    if announce:
        threading.Thread(
            target=_announce_when_ready, args=(app.gateway,), name="liveops-announce", daemon=True
        ).start()
    return app


def _announce_when_ready(gateway: Gateway) -> None:
    """Say once on stderr what this worker serves, and what it could not load and why."""
    while not gateway.ready:
        time.sleep(0.1)
    states: dict[str, dict[str, Any]] = gateway.readiness()["services"]
    served = [f"{n}@{s['version']}" for n, s in sorted(states.items()) if s["status"] == "ready"]
    lines = [f"ready (pid {os.getpid()}): serving {', '.join(served) or 'nothing yet'}"]
    for name, s in sorted(states.items()):
        if s["status"] == "unavailable":
            lines.append(f"not serving {name}: {s['reason']}")
        elif s["status"] == "degraded":
            lines.append(f"{name}@{s['version']} degraded: {s['reason']}")
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    sys.stderr.flush()
