"""What receivers are sent: one notification holds the alerts of one service that changed in
one monitor pass (grouped), and carries its idempotency key.

>>> a = Notice("f1", "router", "slow", "firing", "page", "latency.p95_ms > 400", 512.0, None,
...            {"version": 2, "arm": "production", "slice": "all"}, "2026-03-02T09:15:00+00:00",
...            None, "https://wiki/runbook", 240)
>>> body = webhook_body("k1", [a])
>>> body["idempotency_key"], body["status"], body["alerts"][0]["rule"]
('k1', 'firing', 'slow')
>>> sign(b"{}", "s3cret")
'sha256=adbde1ce40c89c14215687d5d762a47df6dfaefcfad61e2e86718ffc8498571b'
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "Notice",
    "alertmanager_body",
    "email_text",
    "notification_key",
    "rollout_bodies",
    "rollout_summary",
    "sign",
    "slack_body",
    "summary",
    "webhook_body",
]


@dataclass(frozen=True)
class Notice:
    """One alert as a notification tells it."""

    fingerprint: str
    service: str
    rule: str
    status: str  # firing | resolved
    severity: str
    condition: str
    value: float | None
    baseline: float | None
    scope: dict[str, Any]
    started_at: str | None
    resolved_at: str | None
    runbook: str | None
    count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Notice:
        return cls(**d)

    def where(self) -> str:
        """``router@2 (arm production, slice spanish)``: the scope in words."""
        v = self.scope.get("version")
        head = f"{self.service}@{v}" if v not in (None, "") else self.service
        parts = [f"{k} {self.scope[k]}" for k in ("arm", "slice") if self.scope.get(k)]
        return f"{head} ({', '.join(parts)})" if parts else head


def notification_key(receiver: str, kind: str, parts: list[str]) -> str:
    """The idempotency key of a notification: the same alerts, changes and receiver give the
    same key, so queuing it again is a no-op.

    >>> notification_key("hooks", "notify", ["a:firing@1"]) == notification_key(
    ...     "hooks", "notify", ["a:firing@1"])
    True
    """
    text = "\n".join([receiver, kind, *sorted(parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def summary(notices: list[Notice]) -> str:
    firing = [n for n in notices if n.status == "firing"]
    head = f"[{'FIRING' if firing else 'RESOLVED'}:{len(firing) or len(notices)}]"
    first = notices[0]
    return f"{head} {first.service}: " + "; ".join(f"{n.rule} ({n.status})" for n in notices)


def _value(n: Notice) -> str:
    return "no value" if n.value is None else f"{n.value:.4g}"


def webhook_body(key: str, notices: list[Notice]) -> dict[str, Any]:
    """The JSON a generic webhook receives."""
    return {
        "idempotency_key": key,
        "status": "firing" if any(n.status == "firing" for n in notices) else "resolved",
        "service": notices[0].service if notices else None,
        "summary": summary(notices) if notices else "test",
        "alerts": [n.to_dict() for n in notices],
    }


def sign(body: bytes, secret: str) -> str:
    """The ``X-Liveops-Signature`` header: HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_body(key: str, notices: list[Notice]) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message (text for notifications, blocks to read)."""
    text = summary(notices) if notices else "liveops test message"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}
    ]
    for n in notices:
        line = f"*{n.rule}* ({n.severity}, {n.status}) on {n.where()}: {n.condition}"
        line += f", value {_value(n)}"
        if n.runbook:
            line += f"\n<{n.runbook}|runbook>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"idempotency key {key}"}]}
    )
    return {"text": text, "blocks": blocks}


def email_text(key: str, notices: list[Notice]) -> tuple[str, str]:
    """Subject and plain-text body of an e-mail."""
    subject = summary(notices) if notices else "liveops test message"
    lines = [subject, ""]
    for n in notices:
        lines.append(f"- {n.rule} [{n.severity}, {n.status}] on {n.where()}")
        lines.append(f"  {n.condition}; value {_value(n)} over {n.count} answers")
        if n.started_at:
            lines.append(f"  since {n.started_at}")
        if n.runbook:
            lines.append(f"  runbook: {n.runbook}")
    lines += ["", f"idempotency key: {key}"]
    return subject, "\n".join(lines)


def alertmanager_body(notices: list[Notice], ends_at: datetime, key: str) -> list[dict[str, Any]]:
    """Alerts for Alertmanager's ``POST /api/v2/alerts``: a firing alert ends at ``ends_at``
    (a few monitor intervals ahead, re-posted every pass, so Alertmanager does not resolve it
    by itself); a resolved one at its resolution time."""
    out: list[dict[str, Any]] = []
    for n in notices:
        labels = {
            "alertname": n.rule,
            "service": n.service,
            "severity": n.severity,
            **{k: str(v) for k, v in n.scope.items() if v not in (None, "")},
        }
        annotations = {
            "summary": f"{n.condition} on {n.where()}",
            "value": _value(n),
            "idempotency_key": key,
        }
        if n.runbook:
            annotations["runbook_url"] = n.runbook
        end = n.resolved_at if n.status == "resolved" and n.resolved_at else ends_at.isoformat()
        item: dict[str, Any] = {"labels": labels, "annotations": annotations, "endsAt": end}
        if n.started_at:
            item["startsAt"] = n.started_at
        out.append(item)
    return out


def rollout_summary(event: dict[str, Any]) -> str:
    """One line for a rollout's transition (a Slack text, an e-mail's subject).

    >>> rollout_summary({"service": "wines", "transition": "rolled_back", "rollout": "ro7k2qx",
    ...                  "version": "wines@3", "step": "canary 10%", "reason": "accuracy failed"})
    '[ROLLOUT rolled_back] wines@3 (ro7k2qx) at canary 10%: accuracy failed'
    """
    line = (
        f"[ROLLOUT {event.get('transition')}] {event.get('version')} ({event.get('rollout')}) "
        f"at {event.get('step')}"
    )
    return line + (f": {event['reason']}" if event.get("reason") else "")


def rollout_bodies(key: str, event: dict[str, Any]) -> dict[str, Any]:
    """What each kind of receiver is sent for a rollout's transition: ``webhook`` (the JSON),
    ``slack`` (a message) and ``email`` (subject and text)."""
    text = rollout_summary(event)
    lines = [text, ""] + [f"{k}: {v}" for k, v in event.items() if v not in (None, "", [])]
    return {
        "webhook": {"idempotency_key": key, "kind": "rollout", "service": event.get("service"),
                    "summary": text, "rollout": event},
        "slack": {"text": text, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context",
             "elements": [{"type": "mrkdwn", "text": f"idempotency key {key}"}]},
        ]},
        "email": (text, "\n".join([*lines, "", f"idempotency key: {key}"])),
    }  # fmt: skip
