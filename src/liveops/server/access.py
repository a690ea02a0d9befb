"""Who may call which route: every route states its permission (``core/access.py``), checked
against the request's API key by the gateway's :class:`~liveops.services.access.Authenticator`.

``guarded(gateway, permission, handler)`` wraps a Starlette endpoint; the raw predict path
calls :func:`check_scope` itself. Both refuse ``X-Liveops-Time`` from a key without the
``time_override`` permission. The actor of what a request does is its key's owner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from liveops.core.access import PUBLIC
from liveops.errors import ForbiddenError, LiveopsError
from liveops.services.access import Principal, bearer_token
from liveops.services.serving import Gateway

__all__ = [
    "actor_of",
    "check_scope",
    "error_response",
    "guarded",
    "permission_of",
    "retry_headers",
]

Scope = MutableMapping[str, Any]
Handler = Callable[[Request], Awaitable[Response]]


def retry_headers(exc: LiveopsError) -> dict[str, str]:
    """Retry-After on 429 and 503, WWW-Authenticate on 401."""
    headers: dict[str, str] = {}
    if exc.status in (429, 503):
        retry = getattr(exc, "retry_after_s", None)
        headers["retry-after"] = str(max(1, round(retry or 1)))
    if exc.status == 401:
        headers["www-authenticate"] = 'Bearer realm="liveops"'
    return headers


def error_response(exc: LiveopsError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=retry_headers(exc) or None)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


def check_scope(gateway: Gateway, scope: Scope, permission: str) -> Principal | None:
    """The principal of the request in ``scope`` if it may do ``permission`` (None when the
    gateway runs without keys or the route is public); raises 401, 403, 429 or 503."""
    auth = gateway.auth
    if auth is None or permission == PUBLIC:
        return None
    authorization = key = None
    timed = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-liveops-key":
            key = value.decode("latin-1")
        elif name == b"x-liveops-time":
            timed = True
    principal = auth.check(bearer_token(authorization, key), permission, _client(scope))
    if timed and "time_override" not in principal.permissions:
        raise ForbiddenError(
            f"the key {principal.name!r} (role {principal.role}) may not set a request's time "
            "(X-Liveops-Time)",
            hint="leave the header out, or use an admin key (docs/access.md)",
        )
    return principal


def guarded(gateway: Gateway, permission: str, handler: Handler) -> Handler:
    """``handler`` behind the key check; the endpoint's ``permission`` attribute says which
    permission it needs (the route x role test reads it)."""

    async def endpoint(request: Request) -> Response:
        try:
            request.state.principal = check_scope(gateway, request.scope, permission)
        except LiveopsError as exc:
            return error_response(exc)
        return await handler(request)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    setattr(endpoint, "permission", permission)  # noqa: B010 - read by tests and docs
    return endpoint


def permission_of(endpoint: object) -> str | None:
    """The permission a guarded endpoint states (None: not guarded)."""
    value = getattr(endpoint, "permission", None)
    return value if isinstance(value, str) else None


def actor_of(request: Request) -> str:
    """Who acts: the key's owner; without keys (loopback), X-Liveops-Caller or ``api``."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal.owner
    return request.headers.get("x-liveops-caller") or "api"
