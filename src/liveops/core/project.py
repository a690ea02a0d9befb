"""The project file, ``liveops.yaml``: services and what each one promises.

Parsing is strict (unknown keys are errors, so a typo never silently does nothing) and every
error names the file, the line and the field.

>>> text = '''
... services:
...   - name: echo
...     owner: me@example.com
...     inputs: {text: {type: string, required: true}}
...     output: {labels: [a, b]}
... '''
>>> project = parse_project(text, "liveops.yaml")
>>> project.services[0].name, project.services[0].model_inputs
('echo', ['text'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from liveops.core.alerting.rules import AlertRule, ReceiverSpec
from liveops.core.hashing import content_hash
from liveops.core.names import NAME_RE
from liveops.core.rollout.plan import PlanError, RolloutPlan, parse_plan
from liveops.core.serving.decision import DecisionSettings
from liveops.core.yamltext import YamlDoc, parse_yaml
from liveops.errors import InvalidInputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """One input field: its type and constraints, checked on every request."""

    type: Literal["string", "enum", "integer", "number", "boolean"]
    required: bool = False
    max_length: int | None = Field(default=None, gt=0)
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _enum_has_values(self) -> FieldSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum field needs 'values', the list of allowed values")
        if self.type != "enum" and self.values is not None:
            raise ValueError("'values' applies only to fields of type enum")
        return self


class OutputSpec(_Strict):
    """What the service answers. ``allow_new_labels``: feedback may name a label that is not
    in ``labels`` (it is stored and counted as new); otherwise such feedback is refused."""

    labels: list[str] = Field(min_length=1)
    confidence: bool = True
    allow_new_labels: bool | None = None  # None: false (kept out of the spec hash)

    @field_validator("labels")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("labels must be unique")
        return v


class JobSpec(_Strict):
    input: str | None = None
    output: str | None = None
    success: str | None = None


class ServingSpec(_Strict):
    """How the gateway serves a service (``serving:`` block; CLI flags override)."""

    max_batch_size: int = Field(default=64, ge=1, le=4096)
    max_wait_ms: float = Field(default=1.0, ge=0, le=1000)
    max_queue: int = Field(default=2048, ge=1)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=10.0, gt=0)
    # Where a batch runs. "auto": artifact models (skops, joblib: CPU-bound, local) on the
    # event loop, where a thread buys no parallelism under the GIL and costs throughput in
    # handoffs; entry-point models (an LLM call, I/O) in a worker thread, so that a timeout
    # answers from the fallback while the call is still out. "thread" or "loop" force one.
    model_runs_on: Literal["auto", "thread", "loop"] = "auto"
    # The p95 latency (ms) a release's staging smoke test must stay under; None: the decision's
    # timeout_ms, else DEFAULT_P95_TARGET_MS (kept out of the spec hash when unset).
    p95_target_ms: float | None = Field(default=None, gt=0)


class LoggingSpec(_Strict):
    """How the prediction log keeps this service's answers (the ``logging:`` block).

    ``redact`` adds regular expressions to the built-in detectors (e-mail, phone, card, IBAN):
    a plain pattern masks as ``[REDACTED]``; ``{name: pattern}`` masks as ``[NAME]``.

    >>> spec = LoggingSpec(redact=[r"CU-\\d+", {"ticket": r"TK\\d{6}"}])
    >>> sorted(spec.patterns())
    ['redacted', 'ticket']
    """

    redact: list[str | dict[str, str]] = Field(default_factory=list)
    raw_inputs: bool = False
    raw_retention_days: float = Field(default=7, gt=0)
    fsync_ms: int = Field(default=200, ge=0)
    # How long the (redacted) log rows are kept; None keeps them forever. The monitor's runner
    # deletes older rows; the 5-minute windows already computed from them stay.
    retention_days: float | None = Field(default=None, gt=0)

    @field_validator("redact")
    @classmethod
    def _patterns_compile(cls, v: list[str | dict[str, str]]) -> list[str | dict[str, str]]:
        for item in v:
            pairs = item.items() if isinstance(item, dict) else [("redacted", item)]
            if isinstance(item, dict) and len(item) != 1:
                raise ValueError("a named pattern is one 'name: pattern' pair")
            for name, pattern in pairs:
                if not NAME_RE.match(name):
                    raise ValueError(f"pattern name {name!r}: use lower-case letters and digits")
                try:
                    compiled = re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
                if compiled.match(""):
                    raise ValueError(f"{pattern!r} matches the empty string")
        return v

    def patterns(self) -> dict[str, re.Pattern[str]]:
        """The extra patterns by name, as :func:`liveops.core.sensitive.redact` takes them
        (patterns sharing a name are joined into one alternation)."""
        grouped: dict[str, list[str]] = {}
        for item in self.redact:
            name, pattern = next(iter(item.items())) if isinstance(item, dict) else ("", item)
            grouped.setdefault(name or "redacted", []).append(f"(?:{pattern})")
        return {name: re.compile("|".join(parts)) for name, parts in grouped.items()}


class MonitoringSpec(_Strict):
    """What the monitor keeps for this service (the ``monitoring:`` block).

    ``retention_days``: how long its 5-minute windows are kept; ``top_values``: how many values
    of each segment field get a slice of their own (the rest is ``FIELD=other``);
    ``unhelpful_at_most``: a rating at or below it counts as unhelpful (2: one and two stars of
    five; set 0 for thumbs given as 1 and 0); ``drift_window``: the span of traffic each
    stored drift point compares with the reference (``1d``: UTC days; ``30m``, ``6h``, ``7d``:
    a whole number of 5-minute windows), ``drift_min_rows``: fewer logged rows in a scope's
    drift window store the count and no value (docs/drift.md, "On live traffic").

    >>> MonitoringSpec().retention_days, MonitoringSpec().top_values
    (400.0, 10)
    >>> MonitoringSpec().drift_window_s(), MonitoringSpec(drift_window="6h").drift_window_s()
    (86400, 21600)
    """

    retention_days: float = Field(default=400.0, gt=0)
    top_values: int = Field(default=10, ge=1, le=100)
    unhelpful_at_most: float = 2.0
    drift_window: str = "1d"
    drift_min_rows: int = Field(default=100, ge=2)

    @field_validator("drift_window")
    @classmethod
    def _drift_window_ok(cls, v: str) -> str:
        window_seconds(v)
        return v

    def drift_window_s(self) -> int:
        """The drift window in seconds."""
        return window_seconds(self.drift_window)


_WINDOW = re.compile(r"^(\d+)\s*([mhd])$")
_WINDOW_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def window_seconds(text: str) -> int:
    """Seconds of a drift window: ``30m``, ``6h``, ``1d``; a whole number of 5-minute windows
    (the monitor's), else a ``ValueError`` saying so.

    >>> window_seconds("1d"), window_seconds("90m")
    (86400, 5400)
    >>> window_seconds("7m")
    Traceback (most recent call last):
    ...
    ValueError: drift window '7m' is not a whole number of 5-minute windows: use e.g. 1h, 6h, 1d
    """
    m = _WINDOW.match(text.strip())
    seconds = int(m.group(1)) * _WINDOW_UNIT_S[m.group(2)] if m else 0
    if seconds <= 0 or seconds % 300:
        raise ValueError(
            f"drift window {text!r} is not a whole number of 5-minute windows: use e.g. 1h, 6h, 1d"
        )
    return seconds


class CalibrationSpec(_Strict):
    """What the label-free quality estimate calibrates on (the ``calibration:`` block).

    ``dataset``: a labelled dataset (``NAME`` or ``NAME@N``), never the version's training set;
    without it, the suite's evaluation cases. ``by``: suite slices whose combinations get
    calibration maps of their own (where the model's confidence means something different,
    e.g. short messages). The plain form ``calibration: NAME`` names only the dataset.

    >>> CalibrationSpec.model_validate("support-eval@2").dataset
    'support-eval@2'
    """

    dataset: str | None = None
    by: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _plain_name(cls, v: Any) -> Any:
        return {"dataset": v} if isinstance(v, str) else v

    @field_validator("dataset")
    @classmethod
    def _dataset_ref(cls, v: str | None) -> str | None:
        if v is None:
            return v
        name, _, number = v.partition("@")
        if not NAME_RE.match(name) or (number and not number.isdigit()):
            raise ValueError(
                f"{v!r} is not a dataset name: use NAME or NAME@N (lower-case letters, digits, "
                "'-', '_' and '.')"
            )
        return v

    @field_validator("by")
    @classmethod
    def _unique_slices(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each slice may be named once")
        return v


class ServiceSpec(_Strict):
    """One AI feature, as declared in ``liveops.yaml``."""

    name: str
    owner: str
    risk: Literal["low", "medium", "high"] = "medium"
    job: JobSpec | None = None
    inputs: dict[str, FieldSpec] = Field(min_length=1)
    model_inputs: list[str] = Field(default_factory=list)
    output: OutputSpec
    decision: dict[str, Any] = Field(default_factory=dict)
    reference: str | None = None
    suite: str | None = None
    calibration: CalibrationSpec | None = None  # None: the suite's cases (kept out of the hash)
    serving: ServingSpec | None = None  # None: the defaults (keeps older spec hashes stable)
    logging: LoggingSpec | None = None  # None: the defaults (kept out of the spec hash)
    monitoring: MonitoringSpec | None = None  # None: the defaults (kept out of the spec hash)
    alerts: list[AlertRule] | None = None  # docs/alerts.md
    rollout: dict[str, Any] | None = None  # the rollout plan (docs/rollouts.md), checked below

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("use lower-case letters, digits, '-', '_' and '.'")
        return v

    @model_validator(mode="after")
    def _model_inputs_known(self) -> ServiceSpec:
        if not self.model_inputs:
            object.__setattr__(self, "model_inputs", list(self.inputs))
        unknown = [f for f in self.model_inputs if f not in self.inputs]
        if unknown:
            raise ValueError(f"model_inputs names fields not in inputs: {', '.join(unknown)}")
        return self

    def logging_settings(self) -> LoggingSpec:
        """The ``logging:`` block, or its defaults."""
        return self.logging or LoggingSpec()

    def monitoring_settings(self) -> MonitoringSpec:
        """The ``monitoring:`` block, or its defaults."""
        return self.monitoring or MonitoringSpec()

    def serving_settings(self) -> ServingSpec:
        return self.serving or ServingSpec()

    def decision_settings(self) -> DecisionSettings:
        return DecisionSettings.from_config(self.decision)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)

    def rollout_plan(self) -> RolloutPlan | None:
        """The ``rollout:`` block, validated (:func:`~liveops.core.rollout.plan.parse_plan`)."""
        return None if self.rollout is None else parse_plan(self.rollout, list(self.inputs))

    def alert_rules(self) -> list[AlertRule]:
        return list(self.alerts or [])

    def spec_hash(self) -> str:
        return content_hash(self.to_dict())


RiskTier = Literal["low", "medium", "high"]
RISK_TIERS: tuple[RiskTier, ...] = ("low", "medium", "high")


class ApprovalsSpec(_Strict):
    """Who must approve a release (the ``approvals:`` block): groups of people, and per risk
    tier the groups that must each give one approval; ``overrides`` names the group that
    approves an override of a failed evaluation.

    >>> spec = ApprovalsSpec(groups={"eng": ["ann", "bo"], "product": ["cy"]},
    ...                      low=["eng"], medium=["eng", "product"], overrides="product")
    >>> spec.required("medium"), spec.required("high"), spec.members("eng")
    (['eng', 'product'], ['eng', 'product'], ['ann', 'bo'])
    """

    groups: dict[str, list[str]] = Field(min_length=1)
    low: list[str] = Field(default_factory=list)
    medium: list[str] | None = None  # None: as low
    high: list[str] | None = None  # None: as medium
    overrides: str | None = None

    @field_validator("groups")
    @classmethod
    def _groups_ok(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, people in v.items():
            if not NAME_RE.match(name):
                raise ValueError(f"group name {name!r}: use lower-case letters, digits, '-', '_'")
            if not people:
                raise ValueError(f"group {name!r} has nobody in it")
            if any(not str(p).strip() for p in people):
                raise ValueError(f"group {name!r} names an empty person")
            if len(set(people)) != len(people):
                raise ValueError(f"group {name!r} names a person twice")
        return v

    def required(self, risk: RiskTier) -> list[str]:
        """The groups that must approve a release of a service at ``risk``."""
        low = list(self.low)
        medium = list(self.medium) if self.medium is not None else low
        if risk == "low":
            return low
        if risk == "medium":
            return medium
        return list(self.high) if self.high is not None else medium

    def members(self, group: str) -> list[str]:
        return list(self.groups.get(group, []))

    def unknown_groups(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Group names used by a tier or ``overrides`` but not declared: (path, name)."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        for tier in RISK_TIERS:
            for i, g in enumerate(getattr(self, tier) or []):
                if g not in self.groups:
                    out.append(((tier, i), g))
        if self.overrides is not None and self.overrides not in self.groups:
            out.append((("overrides",), self.overrides))
        return out


class Project(_Strict):
    services: list[ServiceSpec] = Field(default_factory=list)
    approvals: ApprovalsSpec | None = None
    receivers: dict[str, ReceiverSpec] | None = None  # where alerts go (docs/alerts.md)

    def service(self, name: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.name == name), None)


def parse_project(
    text: str, filename: str = "liveops.yaml", *, env: Mapping[str, str] | None = None
) -> Project:
    """Parse and validate project-file text; raise :class:`ProjectFileError` naming the line.

    With ``env`` (``service apply`` passes the process's environment), every variable a
    receiver reads its secrets from must be set there."""
    doc = parse_yaml(text, filename)
    if doc.value is None:
        raise doc.error(
            (), "the file is empty", hint="declare at least one service under 'services:'"
        )
    if not isinstance(doc.value, dict):
        raise doc.error((), "expected a mapping with a 'services' list at the top level")
    try:
        project = Project.model_validate(doc.value)
    except ValidationError as exc:
        raise doc.validation_error(exc) from None
    seen: set[str] = set()
    for i, svc in enumerate(project.services):
        if svc.name in seen:
            raise doc.error(("services", i, "name"), f"service {svc.name!r} is declared twice")
        seen.add(svc.name)
        try:
            svc.decision_settings()
        except InvalidInputError as exc:
            raise doc.error(("services", i, "decision"), exc.message) from None
        try:
            svc.rollout_plan()
        except PlanError as exc:
            raise doc.error(("services", i, "rollout", *exc.path), exc.message, exc.hint) from None
    _check_alerts(doc, project, env)
    if project.approvals is not None:
        for path, group in project.approvals.unknown_groups():
            known = ", ".join(project.approvals.groups)
            raise doc.error(
                ("approvals", *path),
                f"group {group!r} is not declared under approvals.groups (declared: {known})",
            )
    return project


def _check_notify(
    doc: YamlDoc, i: int, svc: ServiceSpec, receivers: Mapping[str, ReceiverSpec]
) -> None:
    """The receivers a rollout plan tells of its transitions are declared, and not an
    Alertmanager (it takes alerts, not events)."""
    plan = svc.rollout_plan()
    for k, receiver in enumerate(plan.notify if plan is not None else ()):
        spec = receivers.get(receiver)
        if spec is None:
            known = ", ".join(receivers) or "none"
            raise doc.error(
                ("services", i, "rollout", "notify", k),
                f"unknown receiver {receiver!r} (declared under receivers: {known})",
            )
        if spec.alertmanager is not None:
            raise doc.error(
                ("services", i, "rollout", "notify", k),
                f"receiver {receiver!r} is an Alertmanager: it takes alerts, not rollout "
                "transitions",
                hint="name a webhook, slack or smtp receiver",
            )


def _check_alerts(doc: YamlDoc, project: Project, env: Mapping[str, str] | None) -> None:
    receivers = project.receivers or {}
    for name in receivers:
        if not NAME_RE.match(name):
            raise doc.error(("receivers", name), "use lower-case letters, digits, '-' and '_'")
    for i, svc in enumerate(project.services):
        seen: set[str] = set()
        for j, rule in enumerate(svc.alert_rules()):
            if rule.name in seen:
                raise doc.error(("services", i, "alerts", j, "name"), "two rules share a name")
            seen.add(rule.name)
            for k, receiver in enumerate(rule.receivers):
                if receiver not in receivers:
                    known = ", ".join(receivers) or "none"
                    raise doc.error(
                        ("services", i, "alerts", j, "receivers", k),
                        f"unknown receiver {receiver!r} (declared under receivers: {known})",
                    )
        _check_notify(doc, i, svc, receivers)
    if env is None:
        return
    for name, spec in receivers.items():
        for path, variable in spec.secret_envs():
            if not env.get(variable):
                raise doc.error(
                    ("receivers", name, *path.split(".")),
                    f"environment variable {variable} is not set",
                    hint=f"export {variable}=... before `liveops service apply` (and in the "
                    "process that serves: secrets are read from the environment, never stored)",
                )


def service_from_dict(data: dict[str, Any]) -> ServiceSpec:
    """Rebuild a stored service spec (already validated when it was applied)."""
    return ServiceSpec.model_validate(data)
