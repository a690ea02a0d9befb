"""``liveops.Client``: the gateway from Python (predict, feedback, the management API's reads).

Built on httpx; 429 and 503 answers (and connection failures) are retried with exponential
backoff and jitter by tenacity, waiting at least what Retry-After asks, up to ``retries`` times.
Answers are typed (:class:`Prediction`); an error answer raises the class of
``liveops.errors`` its code names (``UnauthenticatedError`` for 401, ``ForbiddenError`` for
403, ``ServiceNotFound``, ``InvalidInputError`` with ``details["problems"]``, ...), with the
server's message and hint.

>>> client = Client("http://127.0.0.1:8000", "lo_...")
>>> client.close()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveops import errors

if TYPE_CHECKING:
    import httpx

__all__ = ["Client", "Prediction"]

RETRY_STATUSES = (429, 503)


@dataclass(frozen=True)
class Prediction:
    """One answer of the gateway."""

    prediction_id: str
    label: str | None
    decision: str
    version: int | None
    confidence: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    fallback: str | None = None
    reason: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prediction:
        return cls(
            prediction_id=str(d["prediction_id"]),
            label=d.get("label"),
            decision=str(d["decision"]),
            version=d.get("version"),
            confidence=d.get("confidence"),
            scores=dict(d.get("scores") or {}),
            fallback=d.get("fallback"),
            reason=d.get("reason"),
        )


def _error_classes() -> dict[str, type[errors.LiveopsError]]:
    """Error code -> class, from the one error tree (every class has a distinct code)."""
    out: dict[str, type[errors.LiveopsError]] = {}
    todo: list[type[errors.LiveopsError]] = [errors.LiveopsError]
    while todo:
        cls = todo.pop()
        out.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    return out


_BY_STATUS: dict[int, type[errors.LiveopsError]] = {
    400: errors.UsageError,
    401: errors.UnauthenticatedError,
    403: errors.ForbiddenError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.InvalidInputError,
    422: errors.InvalidInputError,
    429: errors.OverloadedError,
    503: errors.ModelUnavailableError,
}


def error_from(status: int, body: Any) -> errors.LiveopsError:
    """The exception for an error answer: by its code, else by its status.

    >>> e = error_from(403, {"error": "forbidden", "message": "no", "hint": "use another key"})
    >>> type(e).__name__, e.hint
    ('ForbiddenError', 'use another key')
    >>> type(error_from(502, "Bad gateway")).__name__
    'LiveopsError'
    """
    data = body if isinstance(body, dict) else {}
    code = str(data.get("error", ""))
    cls = _error_classes().get(code) or _BY_STATUS.get(status, errors.LiveopsError)
    message = str(data.get("message") or body or f"HTTP {status}")[:2000]
    hint = data.get("hint")
    raw = data.get("details")
    details: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    exc = errors.LiveopsError.__new__(cls)
    errors.LiveopsError.__init__(exc, message, hint=hint, **details)
    if isinstance(exc, errors.OverloadedError):
        exc.retry_after_s = float(details.get("retry_after_s", 1.0))
    return exc


def _seg(value: str) -> str:
    """One path segment, quoted.

    >>> _seg("a/b c")
    'a%2Fb%20c'
    """
    from urllib.parse import quote

    return quote(str(value), safe="")


def _given(**values: Any) -> dict[str, Any]:
    """The values that are not None."""
    return {k: v for k, v in values.items() if v is not None}


class _Retry(Exception):
    """A 429 or 503 answer, retried (the last one is raised as its error)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Client:
    """A gateway at ``url`` used with ``key`` (None: a gateway started with --no-auth).

    ``retries``: attempts after the first on 429, 503 or a failed connection; ``backoff_s``:
    the first wait, doubled each time (with jitter), never less than Retry-After, at most
    ``max_wait_s``."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout_s: float = 10.0,
        retries: int = 4,
        backoff_s: float = 0.2,
        max_wait_s: float = 10.0,
        caller: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        headers = {"user-agent": "liveops-client"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        if caller:
            headers["x-liveops-caller"] = caller
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the calls -----------------------------------------------------------------------

    def predict(self, service: str, inputs: Mapping[str, Any]) -> Prediction:
        """The answer for one instance."""
        data = self._request("POST", f"/v1/services/{service}/predict", {"inputs": dict(inputs)})
        return Prediction.from_dict(data)

    def predict_many(
        self, service: str, instances: Sequence[Mapping[str, Any]]
    ) -> list[Prediction]:
        """The answers for several instances (at most 1,000 per call), in order."""
        body = {"instances": [dict(i) for i in instances]}
        data = self._request("POST", f"/v1/services/{service}/predict", body)
        return [Prediction.from_dict(p) for p in data["predictions"]]

    def feedback(
        self,
        prediction_id: str,
        *,
        label: str | None = None,
        rating: float | None = None,
        correction: str | None = None,
        comment: str | None = None,
        source: str | None = None,
    ) -> dict[str, Any]:
        """A label, rating or correction for an answered prediction."""
        body = {
            k: v
            for k, v in (
                ("prediction_id", prediction_id),
                ("label", label),
                ("rating", rating),
                ("correction", correction),
                ("comment", comment),
                ("source", source),
            )
            if v is not None
        }
        result: dict[str, Any] = self._request("POST", "/v1/feedback", body)
        return result

    def services(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._request("GET", "/v1/services")
        return out

    def service(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = self._request("GET", f"/v1/services/{name}")
        return out

    def versions(self, service: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._request("GET", f"/v1/services/{service}/versions")
        return out

    def predictions(self, service: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Recent logged answers, inputs redacted (raw inputs need an admin key)."""
        params: dict[str, Any] = {"limit": limit}
        if service:
            params["service"] = service
        out: list[dict[str, Any]] = self._request("GET", "/v1/predictions", params=params)
        return out

    def prediction(self, prediction_id: str) -> dict[str, Any]:
        out: dict[str, Any] = self._request("GET", f"/v1/predictions/{prediction_id}")
        return out

    def runs(self, service: str | None = None) -> list[dict[str, Any]]:
        params = {"service": service} if service else None
        out: list[dict[str, Any]] = self._request("GET", "/v1/runs", params=params)
        return out

    def releases(self, service: str | None = None) -> list[dict[str, Any]]:
        params = {"service": service} if service else None
        out: list[dict[str, Any]] = self._request("GET", "/v1/releases", params=params)
        return out

    def metrics(self, service: str, **query: str) -> dict[str, Any]:
        """The monitor's series (``metric``, ``by``, ``window``, ``since``)."""
        out: dict[str, Any] = self._request("GET", f"/v1/services/{service}/metrics", params=query)
        return out

    def describe(self, service: str) -> dict[str, Any]:
        """The service's map, as ``liveops describe`` prints it."""
        return self.get(f"/v1/services/{_seg(service)}/describe")

    def set_alias(
        self, service: str, alias: str, version: int | str, reason: str | None = None
    ) -> dict[str, Any]:
        """Point ``alias`` at a version (number or alias); the move, as the key's owner."""
        body = _given(version=version, reason=reason)
        return self.call("PUT", f"/v1/services/{_seg(service)}/aliases/{_seg(alias)}", body)

    def release(self, release_id: str) -> dict[str, Any]:
        return self.get(f"/v1/releases/{_seg(release_id)}")

    def approve(
        self, release_id: str, group: str | None = None, comment: str | None = None
    ) -> dict[str, Any]:
        body = _given(group=group, comment=comment)
        return self.call("POST", f"/v1/releases/{_seg(release_id)}/approve", body)

    def add_dataset(
        self, path: str | Path, name: str, reference_cap: int | None = None
    ) -> dict[str, Any]:
        """Upload a dataset file (.csv, .parquet, .jsonl) as ``name``; its record, with
        ``created`` False when the same content was there already."""
        params = _given(name=name, filename=str(path), reference_cap=reference_cap)
        data = Path(path).read_bytes()
        out: dict[str, Any] = self._request("POST", "/v1/datasets", params=params, content=data)
        return out

    def register(
        self,
        service: str,
        artifact: str | Path,
        *,
        config: Sequence[str] = (),
        params: Sequence[str] = (),
        metrics: Sequence[str] = (),
        train_dataset: str | None = None,
        eval_dataset: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Upload a ``.skops`` artifact as a new version of ``service`` (``config``, ``params``
        and ``metrics`` as ``KEY=VALUE`` strings); its record, with ``created`` False when
        identical content was registered already, and the registry's ``warnings``. A pickle
        (.joblib, .pkl) is refused (400): it would run code on the server when loaded."""
        query = _given(
            filename=str(artifact),
            config=list(config) or None,
            param=list(params) or None,
            metric=list(metrics) or None,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            message=message,
        )
        data = Path(artifact).read_bytes()
        path = f"/v1/services/{_seg(service)}/versions"
        out: dict[str, Any] = self._request("POST", path, params=query, content=data)
        return out

    def rollouts(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._request("GET", "/v1/rollouts")
        return out

    def rollout(self, which: str, looks: int = 5) -> dict[str, Any]:
        """A rollout (by id, or a service's active one) with its latest looks."""
        return self.get(f"/v1/rollouts/{_seg(which)}", looks=looks)

    def rollout_action(self, which: str, verb: str, reason: str | None = None) -> dict[str, Any]:
        """``pause``, ``resume`` or ``abort`` a rollout."""
        return self.call("POST", f"/v1/rollouts/{_seg(which)}/{verb}", _given(reason=reason))

    def rollback(
        self, service: str, to: int | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        body = _given(to=to, reason=reason)
        return self.call("POST", f"/v1/services/{_seg(service)}/rollback", body)

    def alerts(self, service: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._request(
            "GET", "/v1/alerts", params=_given(service=service)
        )
        return out

    def alert_noise(self, service: str | None = None, days: float = 7.0) -> list[dict[str, Any]]:
        params = _given(service=service, days=repr(days))
        out: list[dict[str, Any]] = self._request("GET", "/v1/alerts/noise", params=params)
        return out

    def ack_alert(
        self, rule: str, service: str | None = None, note: str | None = None
    ) -> dict[str, Any]:
        body = _given(service=service, note=note)
        return self.call("POST", f"/v1/alerts/{_seg(rule)}/ack", body)

    def incidents(
        self, service: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        params = _given(service=service, status=status)
        out: list[dict[str, Any]] = self._request("GET", "/v1/incidents", params=params)
        return out

    def incident(self, incident_id: int) -> dict[str, Any]:
        return self.get(f"/v1/incidents/{incident_id}")

    def incident_action(self, incident_id: int, verb: str, **body: Any) -> dict[str, Any]:
        """``ack``, ``mitigate``, ``resolve`` or ``review`` an incident."""
        return self.call("POST", f"/v1/incidents/{incident_id}/{verb}", _given(**body))

    def label_feedback(self, service: str) -> list[dict[str, Any]]:
        """Label feedback on ``service``'s answers, counted per label."""
        path = f"/v1/services/{_seg(service)}/feedback/labels"
        out: list[dict[str, Any]] = self._request("GET", path)
        return out

    def monitor_status(self) -> dict[str, Any]:
        return self.get("/v1/monitor")

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """A management API read answering a JSON object."""
        out: dict[str, Any] = self._request("GET", path, params=_given(**params) or None)
        return out

    def call(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A management API change answering a JSON object."""
        out: dict[str, Any] = self._request(method, path, dict(body))
        return out

    # --- transport -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
    ) -> Any:
        import httpx
        import tenacity

        # Exponential with jitter (the same in every tenacity release since 8.2).
        backoff = tenacity.wait_exponential(
            multiplier=self.backoff_s, max=self.max_wait_s
        ) + tenacity.wait_random(0, self.backoff_s)

        def wait(state: tenacity.RetryCallState) -> float:
            base = float(backoff(state))
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            if isinstance(exc, _Retry):
                after = exc.response.headers.get("retry-after", "")
                if after.replace(".", "", 1).isdigit():
                    return min(self.max_wait_s, max(base, float(after)))
            return base

        def once() -> httpx.Response:
            r = self._http.request(method, path, json=body, params=params, content=content)
            if r.status_code in RETRY_STATUSES:
                raise _Retry(r)
            return r

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_Retry, httpx.TransportError)),
            stop=tenacity.stop_after_attempt(self.retries + 1),
            wait=wait,
            reraise=True,
        )
        try:
            response = retrying(once)
        except _Retry as last:
            response = last.response
        except httpx.TransportError as exc:
            raise errors.StoreUnavailableError(
                f"cannot reach the gateway at {self._http.base_url}: {exc}",
                hint="check the URL and that `liveops serve` runs there",
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise error_from(response.status_code, data)
        return data
