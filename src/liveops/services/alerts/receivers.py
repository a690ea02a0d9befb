"""Talking to receivers: a JSON webhook signed with HMAC-SHA256, a Slack-compatible incoming
webhook, e-mail over SMTP (STARTTLS optional) and Prometheus Alertmanager's
``POST /api/v2/alerts``. Secrets are read from the environment variables the receiver names, at
the moment of sending. Every call has the receiver's ``timeout_s``; any failure raises."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import orjson

from liveops.core.alerting.payloads import (
    Notice,
    alertmanager_body,
    email_text,
    rollout_bodies,
    sign,
    slack_body,
    webhook_body,
)
from liveops.core.alerting.rules import ReceiverSpec, WebhookSpec
from liveops.errors import UsageError

__all__ = ["KEY_HEADER", "SIGNATURE_HEADER", "deliver"]

SIGNATURE_HEADER = "X-Liveops-Signature"
KEY_HEADER = "Idempotency-Key"
REFRESH_AHEAD = timedelta(minutes=15)  # endsAt of a firing alert re-posted to Alertmanager


def _env(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise UsageError(
            f"environment variable {name} is not set",
            hint=f"export {name}=... in the process that sends alerts",
        )
    return value


def _url(spec: WebhookSpec, env: Mapping[str, str]) -> str:
    if spec.url is not None:
        return (env.get(spec.url_env) if spec.url_env else None) or spec.url
    return _env(env, spec.url_env or "")


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    import httpx

    response = httpx.post(
        url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=timeout
    )
    if response.status_code >= 300:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")


def deliver(
    spec: ReceiverSpec,
    key: str,
    kind: str,
    payload: Mapping[str, Any],
    env: Mapping[str, str],
    now: datetime,
) -> None:
    """Send one outbox row; raises on any failure (the sender retries)."""
    if kind == "rollout":
        _rollout(spec, key, dict(payload.get("rollout") or {}), env)
        return
    notices = [Notice.from_dict(n) for n in payload.get("notices", [])]
    if spec.webhook is not None:
        body = orjson.dumps(webhook_body(key, notices) | {"kind": kind})
        headers = {KEY_HEADER: key}
        if spec.webhook.secret_env:
            headers[SIGNATURE_HEADER] = sign(body, _env(env, spec.webhook.secret_env))
        _post(_url(spec.webhook, env), body, headers, spec.timeout_s)
    elif spec.slack is not None:
        _post(_url(spec.slack, env), orjson.dumps(slack_body(key, notices)), {}, spec.timeout_s)
    elif spec.smtp is not None:
        _mail(spec, key, notices, env)
    elif spec.alertmanager is not None:
        alerts = alertmanager_body(notices, now + REFRESH_AHEAD, key)
        if not alerts:  # a test message: one short-lived alert
            alerts = [
                {
                    "labels": {"alertname": "liveops-test", "severity": "info"},
                    "annotations": {"summary": "liveops test message", "idempotency_key": key},
                    "endsAt": (now + timedelta(minutes=5)).isoformat(),
                }
            ]
        url = spec.alertmanager.rstrip("/") + "/api/v2/alerts"
        _post(url, orjson.dumps(alerts), {}, spec.timeout_s)


def _rollout(spec: ReceiverSpec, key: str, event: dict[str, Any], env: Mapping[str, str]) -> None:
    """A rollout's transition (``rollout: {notify: [...]}``); Alertmanager is refused when the
    project is applied, since it takes alerts, not events."""
    bodies = rollout_bodies(key, event)
    if spec.webhook is not None:
        body = orjson.dumps(bodies["webhook"])
        headers = {KEY_HEADER: key}
        if spec.webhook.secret_env:
            headers[SIGNATURE_HEADER] = sign(body, _env(env, spec.webhook.secret_env))
        _post(_url(spec.webhook, env), body, headers, spec.timeout_s)
    elif spec.slack is not None:
        _post(_url(spec.slack, env), orjson.dumps(bodies["slack"]), {}, spec.timeout_s)
    elif spec.smtp is not None:
        _mail(spec, key, [], env, text=bodies["email"])
    else:
        raise UsageError(f"a {spec.kind} receiver does not take rollout transitions")


def _mail(
    spec: ReceiverSpec,
    key: str,
    notices: list[Notice],
    env: Mapping[str, str],
    *,
    text: tuple[str, str] | None = None,
) -> None:
    smtp = spec.smtp
    assert smtp is not None
    subject, text_ = text or email_text(key, notices)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.to)
    msg["X-Liveops-Idempotency-Key"] = key
    msg.set_content(text_)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=spec.timeout_s) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.user_env:
            client.login(_env(env, smtp.user_env), _env(env, smtp.password_env or ""))
        client.send_message(msg)
