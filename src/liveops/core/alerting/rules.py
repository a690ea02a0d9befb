"""Alert rules (a service's ``alerts:`` list) and receivers (the top-level ``receivers:``).

A rule names a monitor metric, a scope (version, arm, slice), one condition (``above``,
``below``, or a change against the previous window or the same window a week earlier:
``rises_by``/``falls_by`` in percent), the evidence it needs (``min_count`` answers, or labels
for quality metrics), the span it reads (``window``, whole 5-minute windows merged) and how long
the condition must hold (``for``, at least the window).

>>> rule = AlertRule.model_validate(
...     {"name": "slow", "metric": "latency.p95_ms", "above": 400, "for": "15m"})
>>> rule.for_s, rule.window_s, rule.condition()
(900, 300, 'latency.p95_ms > 400')
>>> parse_duration("1d"), parse_duration("90s")
(86400, 90)
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from liveops.core import catalogue
from liveops.core.names import NAME_RE

__all__ = [
    "ACTIONS",
    "KEPT",
    "PER_GATEWAY",
    "WINDOW_S",
    "AlertRule",
    "ReceiverSpec",
    "SmtpSpec",
    "WebhookSpec",
    "evidence_kind",
    "parse_duration",
    "per_gateway",
]

WINDOW_S = 300  # the monitor's window
# The catalogue patterns the monitor's windows give: the catalogue marks them (``windowed``),
# so a metric the windows start keeping becomes a rule's metric without a second list.
KEPT = catalogue.WINDOWED
# Kept per service from the gateways' heartbeat (a window row of its own, arm ``gateway``), not
# per version, arm or slice (core.monitoring.window.gateway_value computes exactly these; a
# test keeps the two equal).
PER_GATEWAY = frozenset({"uptime", "availability", "rejected.STATUS"})
ACTIONS = ("kill_switch", "rollback", "raise_threshold")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
Severity = Literal["page", "ticket", "info"]


def parse_duration(text: str | int) -> int:
    """Seconds of ``90s``, ``15m``, ``2h``, ``1d``, ``1w`` (a bare integer is seconds)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text} is not a duration (negative)")
        return text
    m = _DURATION.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration: write e.g. 90s, 15m, 2h, 1d or 1w")
    return int(m.group(1)) * _UNIT[m.group(2)]


def _is_drift(name: str) -> bool:
    # drift.COLUMN, missing.COLUMN, ...: stored by the monitor's drift pass, not its windows
    return catalogue.stored_by_drift_pass(name)


def per_gateway(metric: str) -> bool:
    """Whether ``metric`` is kept per service from the gateways' heartbeat.

    >>> per_gateway("uptime"), per_gateway("rejected.429"), per_gateway("error_rate")
    (True, True, False)
    """
    found = catalogue.lookup(metric)
    return found is not None and found.definition.pattern in PER_GATEWAY


def evidence_kind(metric: str) -> Literal["labels", "ratings", "requests", "answers"]:
    """What ``min_count`` counts for ``metric``: labels for quality that needs them, ratings
    for user ratings, requests the gateways received for the heartbeat's metrics, answers
    otherwise.

    >>> evidence_kind("accuracy"), evidence_kind("rating.mean"), evidence_kind("error_rate")
    ('labels', 'ratings', 'answers')
    >>> evidence_kind("availability")
    'requests'
    """
    if per_gateway(metric):
        return "requests"
    if metric in ("accuracy", "macro_f1") or metric.startswith("per_class."):
        return "labels"
    if metric.startswith("rating."):
        return "ratings"
    return "answers"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AlertRule(_Strict):
    """One rule of a service's ``alerts:`` list."""

    name: str = Field(min_length=1, max_length=120)
    metric: str
    version: int | str | None = None  # a number or an alias (production); None: each version
    arm: str | None = None  # None: every arm merged
    slice: str = "all"
    above: float | None = None
    below: float | None = None
    rises_by: float | None = Field(default=None, gt=0)  # percent
    falls_by: float | None = Field(default=None, gt=0, le=100)  # percent
    against: Literal["previous", "week"] = "previous"
    min_count: int = Field(default=0, ge=0)
    window: str | int = "5m"
    for_: str | int | None = Field(default=None, alias="for")
    severity: Severity = "ticket"
    receivers: list[str] = Field(default_factory=list)
    runbook: str | None = None
    action: Literal["kill_switch", "rollback", "raise_threshold"] | None = None
    threshold: float | None = Field(default=None, gt=0, lt=1)  # raise_threshold's new value
    cooldown: str | int = "1h"

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        from liveops.errors import UsageError

        try:
            catalogue.check(v, "live")
        except UsageError as exc:
            raise ValueError(exc.message) from None
        found = catalogue.lookup(v)
        if not _is_drift(v) and (found is None or found.definition.pattern not in KEPT):
            raise ValueError(
                f"metric {v!r} is not kept in the monitor's windows (rules may use: "
                f"{', '.join(sorted(KEPT))}, {', '.join(sorted(catalogue.DRIFT_PASS))})"
            )
        return v

    @field_validator("window", "cooldown")
    @classmethod
    def _duration(cls, v: str | int) -> str | int:
        parse_duration(v)
        return v

    @field_validator("for_")
    @classmethod
    def _for_duration(cls, v: str | int | None) -> str | int | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("receivers")
    @classmethod
    def _receiver_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not NAME_RE.match(name):
                raise ValueError(f"receiver name {name!r}: use lower-case letters, digits, '-'")
        return v

    @model_validator(mode="after")
    def _one_condition(self) -> AlertRule:
        given = [
            k for k in ("above", "below", "rises_by", "falls_by") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one condition: above, below, rises_by or falls_by "
                f"(given: {', '.join(given) or 'none'})"
            )
        if self.window_s % WINDOW_S or self.window_s == 0:
            raise ValueError(f"window {self.window!r} is not a whole number of 5-minute windows")
        if self.for_ is not None and self.for_s < self.window_s:
            raise ValueError(
                f"for: {self.for_} is shorter than the window ({self.window}): the monitor "
                "judges the rule once per window, so it could never hold that briefly"
            )
        if per_gateway(self.metric) and (
            self.version is not None or self.arm is not None or self.slice != "all"
        ):
            raise ValueError(
                f"{self.metric} is kept per service from the gateways' heartbeat, not per "
                "version, arm or slice: leave out version, arm and slice"
            )
        if self.action == "raise_threshold" and self.threshold is None:
            raise ValueError("action raise_threshold needs 'threshold', the new value (0..1)")
        return self

    @property
    def window_s(self) -> int:
        return parse_duration(self.window)

    @property
    def for_s(self) -> int:
        return self.window_s if self.for_ is None else parse_duration(self.for_)

    @property
    def cooldown_s(self) -> int:
        return parse_duration(self.cooldown)

    def condition(self) -> str:
        """The condition as text: ``accuracy < 0.75``, ``error_rate rises by 50 % vs previous``."""
        if self.above is not None:
            return f"{self.metric} > {self.above:g}"
        if self.below is not None:
            return f"{self.metric} < {self.below:g}"
        word, pct = (
            ("rises", self.rises_by) if self.rises_by is not None else ("falls", self.falls_by)
        )
        return f"{self.metric} {word} by {pct:g} % vs {self.against}"

    def judge(self, value: float | None, baseline: float | None) -> bool | None:
        """Whether the condition holds; None when it cannot be told (no value, no baseline).

        >>> r = AlertRule(name="x", metric="error_rate", rises_by=50)
        >>> r.judge(0.03, 0.02), r.judge(0.029, 0.02), r.judge(0.03, None)
        (True, False, None)
        """
        if value is None:
            return None
        if self.above is not None:
            return value > self.above
        if self.below is not None:
            return value < self.below
        if baseline is None:
            return None
        if self.rises_by is not None:
            return value >= baseline * (1 + self.rises_by / 100) and value > baseline
        assert self.falls_by is not None
        return value <= baseline * (1 - self.falls_by / 100) and value < baseline

    @property
    def needs_baseline(self) -> bool:
        return self.rises_by is not None or self.falls_by is not None


class WebhookSpec(_Strict):
    """A JSON webhook; signed with HMAC-SHA256 when ``secret_env`` names the secret's variable.

    The address is ``url``, or the value of the variable ``url_env`` names (the URL itself is a
    secret: Slack's are). Given both, the variable overrides ``url`` when it is set, and ``url``
    is the default, so the variable need not be set.
    """

    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSpec:
        if self.url is None and self.url_env is None:
            raise ValueError("give the address as url or url_env")
        return self


class SmtpSpec(_Strict):
    """E-mail over SMTP; ``starttls`` upgrades the connection, ``user_env``/``password_env``
    name the login's variables."""

    host: str
    port: int = Field(default=25, ge=1, le=65535)
    to: list[str] = Field(min_length=1)
    sender: str = Field(default="liveops@localhost", alias="from")
    starttls: bool = False
    user_env: str | None = None
    password_env: str | None = None


class ReceiverSpec(_Strict):
    """One receiver: exactly one of webhook, slack, smtp or alertmanager (its base URL)."""

    webhook: WebhookSpec | None = None
    slack: WebhookSpec | None = None
    smtp: SmtpSpec | None = None
    alertmanager: str | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=120)

    @model_validator(mode="after")
    def _exactly_one(self) -> ReceiverSpec:
        kinds = [k for k in ("webhook", "slack", "smtp", "alertmanager") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "a receiver is exactly one of webhook, slack, smtp or alertmanager "
                f"(given: {', '.join(kinds) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("webhook", "slack", "smtp", "alertmanager") if getattr(self, k))

    def secret_envs(self) -> list[tuple[str, str]]:
        """``(field path, variable)`` of every environment variable the receiver reads."""
        out: list[tuple[str, str]] = []
        for block in ("webhook", "slack", "smtp"):
            spec = getattr(self, block)
            if spec is None:
                continue
            for key in ("url_env", "secret_env", "user_env", "password_env"):
                name = getattr(spec, key, None)
                if key == "url_env" and getattr(spec, "url", None) is not None:
                    continue  # optional: url is the default
                if name:
                    out.append((f"{block}.{key}", name))
        return out
