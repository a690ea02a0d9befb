"""The decision layer: whether a model's answer goes out automatically, and if not, what instead.

Offline evaluation applies it to a batch of suite cases; the gateway applies it online to each
request. Both call :func:`decide` with the version's :class:`DecisionSettings`, so a threshold
means the same thing in both places.

Per record, the first rule that applies wins:

1. a text field holds sensitive input (:mod:`liveops.core.sensitive`) and ``sensitive_input`` is
   not ``allow``: that action, reason ``sensitive_input:<kinds>``;
2. the confidence is below ``threshold``: the ``below_threshold`` action,
   reason ``below_threshold:<confidence>``;
3. otherwise ``automatic``.

>>> import numpy as np
>>> from liveops.core.model import BatchOutput
>>> settings = DecisionSettings.from_config({"threshold": 0.7, "sensitive_input": "human_review"})
>>> out = BatchOutput(labels=["billing", "general", "technical"],
...                   classes=("billing", "general", "technical"),
...                   scores=np.array([[0.9, 0.05, 0.05], [0.3, 0.5, 0.2], [0.1, 0.1, 0.8]]))
>>> records = [{"text": "refund please"}, {"text": "hi"}, {"text": "card 4111 1111 1111 1111"}]
>>> decided = decide(records, out, settings)
>>> decided.decisions
['automatic', 'human_review', 'human_review']
>>> decided.reasons
[None, 'below_threshold:0.5', 'sensitive_input:card']
>>> decided.labels
['billing', None, None]

A reason is one or more ``code[:detail]`` parts joined by ``;``; the first part explains the
final decision (``fallback_no_answer;below_threshold:0.5``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, NoReturn, get_args

import numpy as np

from liveops.core.model import BatchOutput
from liveops.core.names import parse_version_ref
from liveops.core.sensitive import Finding, find_sensitive
from liveops.errors import InvalidInputError, LiveopsError, ModelError

__all__ = [
    "DECISIONS",
    "DecidedBatch",
    "Decision",
    "DecisionSettings",
    "RulesFunction",
    "decide",
    "sensitive_hold",
    "sensitive_kinds",
]

Decision = Literal["automatic", "human_review", "fallback", "abstain"]
BelowThresholdAction = Literal["human_review", "fallback", "abstain"]
SensitiveInputAction = Literal["human_review", "fallback", "abstain", "allow"]
DECISIONS: tuple[str, ...] = get_args(Decision)
RulesFunction = Callable[[Mapping[str, Any]], str | None]

_BELOW_ACTIONS: tuple[str, ...] = get_args(BelowThresholdAction)
_SENSITIVE_ACTIONS: tuple[str, ...] = get_args(SensitiveInputAction)
_ENTRYPOINT = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


@dataclass(frozen=True)
class DecisionSettings:
    """How a version turns model answers into decisions (the ``decision`` block of a service).

    ``fallback`` is ``"rules"`` (the ``rules`` entry point, ``module:function``) or a version
    reference (``support-router@1``); ``timeout_ms`` is enforced by the gateway, not here.
    Constructing one validates it and raises :class:`~liveops.errors.InvalidInputError`.

    >>> try:
    ...     DecisionSettings.from_config({"treshold": 0.7})
    ... except InvalidInputError as exc:
    ...     print(exc.hint)
    did you mean 'threshold'?
    """

    threshold: float | None = None
    below_threshold: BelowThresholdAction = "human_review"
    fallback: str | None = None
    rules: str | None = None
    timeout_ms: int | None = None
    sensitive_input: SensitiveInputAction = "allow"

    def __post_init__(self) -> None:
        if self.threshold is not None:
            t = self.threshold
            if isinstance(t, bool) or not isinstance(t, int | float) or not 0.0 <= t <= 1.0:
                _bad("threshold", t, "a number from 0 to 1, e.g. threshold: 0.7")
            object.__setattr__(self, "threshold", float(t))  # 1 and 1.0 hash the same
        if self.below_threshold not in _BELOW_ACTIONS:
            _bad("below_threshold", self.below_threshold, f"one of {', '.join(_BELOW_ACTIONS)}")
        if self.sensitive_input not in _SENSITIVE_ACTIONS:
            _bad("sensitive_input", self.sensitive_input, f"one of {', '.join(_SENSITIVE_ACTIONS)}")
        if self.timeout_ms is not None and (
            isinstance(self.timeout_ms, bool)
            or not isinstance(self.timeout_ms, int)
            or self.timeout_ms <= 0
        ):
            _bad("timeout_ms", self.timeout_ms, "a whole number of milliseconds above 0")
        if self.rules is not None and (
            not isinstance(self.rules, str) or not _ENTRYPOINT.match(self.rules)
        ):
            _bad("rules", self.rules, "an entry point module:function, e.g. mypkg.rules:route")
        if self.fallback is not None:
            self._check_fallback()
        uses_fallback = "fallback" in (self.below_threshold, self.sensitive_input)
        if uses_fallback and self.fallback is None:
            raise InvalidInputError(
                "a decision action is 'fallback' but no fallback is set",
                hint="add fallback: rules (with rules: module:function) or fallback: SERVICE@N",
            )

    def _check_fallback(self) -> None:
        fallback = self.fallback
        hint = "rules, or a version such as support-router@1"
        if not isinstance(fallback, str):
            _bad("fallback", fallback, hint)
        elif fallback == "rules":
            if self.rules is None:
                raise InvalidInputError(
                    "fallback is 'rules' but no rules entry point is set",
                    hint="add rules: module:function (it gets the inputs, returns a label or None)",
                )
        else:
            try:
                ref = parse_version_ref(fallback)
            except LiveopsError:
                _bad("fallback", fallback, hint)
            else:
                # A numbered version only: an alias would let a live version's behaviour change
                # when the alias moves, and versions are immutable.
                if ref.number is None:
                    raise InvalidInputError(
                        f"fallback {fallback!r} names an alias; a fallback must be a numbered "
                        "version",
                        hint=f"write {ref.service}@N, the version that should answer instead",
                    )

    @property
    def fallback_version(self) -> str | None:
        """The version reference the fallback names, or None (no fallback, or rules)."""
        return None if self.fallback in (None, "rules") else self.fallback

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> DecisionSettings:
        """Settings from a ``decision`` mapping (project file or a version's config).

        >>> DecisionSettings.from_config({"threshold": 0.7}).to_config()["threshold"]
        0.7
        """
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise InvalidInputError(
                f"decision settings must be a mapping, got {type(config).__name__}",
                hint="e.g. decision: {threshold: 0.7, below_threshold: human_review}",
            )
        allowed = sorted(f.name for f in fields(cls))
        for key in config:
            if key not in allowed:
                import difflib  # only on this error path

                close = difflib.get_close_matches(str(key), allowed, n=1)
                raise InvalidInputError(
                    f"unknown decision setting {key!r} (allowed: {', '.join(allowed)})",
                    hint=f"did you mean {close[0]!r}?" if close else None,
                )
        return cls(**dict(config))

    def to_config(self) -> dict[str, Any]:
        """Every setting, defaults included, so that a version's config shows all of them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _bad(key: str, value: object, expected: str) -> NoReturn:
    raise InvalidInputError(f"decision setting {key}={value!r} is invalid: expected {expected}")


@dataclass(frozen=True)
class DecidedBatch:
    """The decisions for a batch of n records, index-aligned with the records.

    ``labels[i]`` is the answer to give: the model's label when automatic, the fallback's
    label when a fallback answered, and None when nobody answers automatically
    (``human_review``, ``abstain``, or a version fallback not yet resolved). The model's own
    label is always kept in ``model_labels``. ``fallback_used[i]`` is True when the answer comes
    (or, for a version fallback, will come) from the fallback.

    A fallback naming a version cannot run here: those records have decision ``fallback``,
    label None, and their indices in ``needs_fallback_version``; the caller asks
    ``fallback_target`` and hands its labels to :meth:`resolve_fallback`.
    """

    labels: list[str | None]
    decisions: list[str]
    reasons: list[str | None]
    fallback_used: list[bool]
    model_labels: list[str]
    needs_fallback_version: list[int]
    fallback_target: str | None = None

    def __len__(self) -> int:
        return len(self.decisions)

    def counts(self) -> dict[str, int]:
        """How many records got each decision (all four keys present)."""
        out = dict.fromkeys(DECISIONS, 0)
        for d in self.decisions:
            out[d] += 1
        return out

    def resolve_fallback(self, labels: Sequence[str | None]) -> DecidedBatch:
        """Fill the answers of the fallback version, one per index in ``needs_fallback_version``.

        A None answer turns that record into ``human_review`` (reason ``fallback_no_answer``).
        """
        if len(labels) != len(self.needs_fallback_version):
            raise ModelError(
                f"the fallback {self.fallback_target} answered {len(labels)} labels "
                f"for {len(self.needs_fallback_version)} records",
                hint="pass one label (or None) per index in needs_fallback_version, in order",
            )
        new_labels, decisions = list(self.labels), list(self.decisions)
        reasons, used = list(self.reasons), list(self.fallback_used)
        for i, label in zip(self.needs_fallback_version, labels, strict=True):
            if label is None:
                decisions[i], used[i] = "human_review", False
                reasons[i] = _join("fallback_no_answer", reasons[i])
            else:
                new_labels[i] = label
        return replace(
            self,
            labels=new_labels,
            decisions=decisions,
            reasons=reasons,
            fallback_used=used,
            needs_fallback_version=[],
        )


def decide(
    records: Sequence[Mapping[str, Any]],
    output: BatchOutput,
    settings: DecisionSettings,
    *,
    rules: RulesFunction | None = None,
    text_fields: Sequence[str] = ("text",),
    sensitive: Mapping[int, str] | None = None,
) -> DecidedBatch:
    """Decide, per record, whether ``output``'s answer goes out automatically.

    ``sensitive``: the sensitive kinds in each record's text fields, by position, when the
    caller has found them already (:func:`sensitive_kinds` of
    :func:`~liveops.core.sensitive.find_sensitive_column`); a record not in it holds none.

    ``rules`` is the loaded ``settings.rules`` function (loading it is the caller's job); it is
    required when the fallback is ``rules`` and is only called for records that need it. A rules
    function that returns None or raises sends the record to ``human_review`` rather than
    failing the batch. Without scores a model's confidence counts as 1.0, so thresholds never
    stop it; a NaN confidence counts as below any threshold.
    """
    n = len(records)
    if len(output) != n:
        raise ModelError(
            f"the model answered {len(output)} labels for {n} records",
            hint="predict_batch must return one answer per input record, in order",
        )
    fallback_actions = {settings.below_threshold, settings.sensitive_input} & {"fallback"}
    if fallback_actions and settings.fallback == "rules" and rules is None:
        raise InvalidInputError(
            "the decision settings fall back to rules but no rules function was given",
            hint=f"load {settings.rules} and pass it as rules=",
        )
    confidence = output.confidence()
    if settings.threshold is None:
        below = np.zeros(n, dtype=bool)
    else:
        below = ~(confidence >= settings.threshold)  # NaN is below: unsure is not sure
    check_sensitive = settings.sensitive_input != "allow"

    labels: list[str | None] = list(output.labels)
    decisions: list[str] = ["automatic"] * n
    reasons: list[str | None] = [None] * n
    used = [False] * n
    pending: list[int] = []
    # Only records below the threshold or holding sensitive input can leave "automatic".
    rows: Iterable[int] = np.flatnonzero(below).tolist()
    if check_sensitive:
        rows = range(n) if sensitive is None else sorted({*rows, *sensitive})
    for i in rows:
        if not check_sensitive:
            kinds = ""
        elif sensitive is not None:
            kinds = sensitive.get(i, "")
        else:
            kinds = _sensitive_kinds(records[i], text_fields)
        if kinds:
            action: str = settings.sensitive_input
            reason = f"sensitive_input:{kinds}"
        elif below[i]:
            action = settings.below_threshold
            reason = f"below_threshold:{_format_confidence(float(confidence[i]))}"
        else:
            continue
        decisions[i], reasons[i] = action, reason
        if action != "fallback":
            labels[i] = None
            continue
        used[i] = True
        if settings.fallback == "rules":
            assert rules is not None  # checked above
            labels[i], failure = _ask_rules(rules, records[i])
            if failure is not None:
                decisions[i], used[i] = "human_review", False
                reasons[i] = _join(failure, reason)
            else:
                reasons[i] = _join(reason, "fallback:rules")
        else:
            labels[i] = None
            reasons[i] = _join(reason, f"fallback:{settings.fallback}")
            pending.append(i)
    return DecidedBatch(
        labels=labels,
        decisions=decisions,
        reasons=reasons,
        fallback_used=used,
        model_labels=list(output.labels),
        needs_fallback_version=pending,
        fallback_target=settings.fallback_version,
    )


def sensitive_hold(
    record: Mapping[str, Any], settings: DecisionSettings, text_fields: Sequence[str] = ("text",)
) -> tuple[str, str] | None:
    """``(action, reason)`` when ``record`` holds sensitive input that no automatic answer may
    take (the model's, or a fallback's when the model is not asked); None otherwise.

    The gateway applies it when it answers from the rules without the model (kill switch,
    timeout, open breaker), so the sensitive-input rule holds on every path.

    >>> s = DecisionSettings(sensitive_input="human_review")
    >>> sensitive_hold({"text": "card 4111 1111 1111 1111"}, s)
    ('human_review', 'sensitive_input:card')
    >>> sensitive_hold({"text": "order 4111 1111"}, s) is None
    True
    """
    if settings.sensitive_input in ("allow", "fallback"):
        return None
    kinds = _sensitive_kinds(record, text_fields)
    return (settings.sensitive_input, f"sensitive_input:{kinds}") if kinds else None


def sensitive_kinds(columns: Iterable[Mapping[int, Sequence[Finding]]]) -> dict[int, str]:
    """The ``sensitive`` argument of :func:`decide` from the findings of each text field's
    column, by record position.

    >>> from liveops.core.sensitive import Finding
    >>> sensitive_kinds([{0: [Finding("phone", 0, 9)]}, {0: [Finding("email", 0, 5)], 2: []}])
    {0: 'email,phone'}
    """
    found: dict[int, set[str]] = {}
    for column in columns:
        for i, findings in column.items():
            if findings:
                found.setdefault(i, set()).update(f.kind for f in findings)
    return {i: ",".join(sorted(kinds)) for i, kinds in found.items()}


def _sensitive_kinds(record: Mapping[str, Any], text_fields: Sequence[str]) -> str:
    kinds: set[str] = set()
    for name in text_fields:
        value = record.get(name)
        if isinstance(value, str):
            kinds.update(f.kind for f in find_sensitive(value))
    return ",".join(sorted(kinds))


def _ask_rules(rules: RulesFunction, record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(label, None)`` or ``(None, failure reason)``; user code must not fail the batch."""
    try:
        label = rules(record)
    except Exception as exc:  # user code: the failure is reported in the reason
        return None, f"fallback_error:{type(exc).__name__}"
    if label is None:
        return None, "fallback_no_answer"
    if not isinstance(label, str):
        return None, f"fallback_error:returned {type(label).__name__}"
    return label, None


def _join(*parts: str | None) -> str:
    return ";".join(p for p in parts if p)


def _format_confidence(value: float) -> str:
    """Rounded down, so the shown value is never at or above the threshold it fell below."""
    if math.isnan(value):
        return "nan"
    return f"{math.floor(value * 10_000 + 1e-9) / 10_000:g}"
