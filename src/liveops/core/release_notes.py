"""Release notes: a draft from ``versions diff`` and the evaluation, and a checker for vague
notes.

The draft says what changed (artifact, config, data, training parameters, code), the
threshold, the data it was evaluated on, metric values with their 95 % intervals and the
paired deltas against the baseline, the new and fixed failures, the slices that moved (a
paired interval that excludes 0) and the rollout plan when there is one. People then edit it;
:func:`check_notes` flags what makes notes useless to a reader: a claim of improvement with no
number, no number at all, no scope (who gets the change), no rollout plan.

>>> [f.code for f in check_notes("Improved quality.")]
['vague_claim', 'no_number', 'no_scope', 'no_rollout']
>>> check_notes('''Accuracy 0.87 -> 0.90 [+0.01, +0.05] overall, all traffic.
... Rollout plan: canary 10 % for 2 h, rolled back if the Spanish slice drops 2 points.''')
[]
>>> text = "Scope: all traffic. Accuracy 0.9.\\nBetter answers.\\nRollout: canary"
>>> [f.line for f in check_notes(text)]
[2]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from liveops.core.diff import VersionDiff
from liveops.core.evaluation.summary import EvalSummary, MetricResult

__all__ = ["NoteFlag", "check_notes", "draft_notes", "moved_slices"]

# A claim of change that means nothing without a number beside it.
_VAGUE = re.compile(
    r"\b(improv\w*|better|worse|quality|enhanc\w*|faster|slower|more accurate|"
    r"less accurate|robust\w*|optimi[sz]\w*|boost\w*|tun(?:ed|ing))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")
_SENTENCE = re.compile(r"(?<=[.;!?])\s+")
_SCOPE = re.compile(
    r"\b(scope|slice[sd]?|segment|overall|all traffic|all users|every (?:user|request)|"
    r"language|channel|region|only for)\b",
    re.IGNORECASE,
)
_ROLLOUT = re.compile(r"\b(rollout|roll-out|canary|shadow|rolled back|rollback|staged)\b", re.I)
_NO_ROLLOUT = re.compile(r"rollout(?: plan)?\s*:\s*(none|not set|tbd|n/?a)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NoteFlag:
    """One problem of the notes: a stable code, the line (1-based; 0 for the whole text)."""

    code: str
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "line": self.line, "message": self.message}


def check_notes(text: str) -> list[NoteFlag]:
    """Flag vague notes: each vague claim without a number on its line, then no number at
    all, no scope, no rollout plan (in that order)."""
    flags: list[NoteFlag] = []
    for n, line in enumerate(text.splitlines(), start=1):
        for sentence in _SENTENCE.split(line):  # a number elsewhere on the line is no excuse
            m = _VAGUE.search(sentence)
            if m and not _NUMBER.search(sentence):
                flags.append(
                    NoteFlag(
                        "vague_claim",
                        n,
                        f"{m.group(0)!r} with no number: say by how much, with the interval",
                    )
                )
    if not _NUMBER.search(text):
        flags.append(NoteFlag("no_number", 0, "no number anywhere: give the metric deltas"))
    if not _SCOPE.search(text):
        flags.append(
            NoteFlag("no_scope", 0, "no scope: say who gets the change (all traffic, a slice)")
        )
    if not _ROLLOUT.search(text) or _NO_ROLLOUT.search(text):
        flags.append(
            NoteFlag("no_rollout", 0, "no rollout plan: say how it goes out and how it is watched")
        )
    return flags


def moved_slices(summary: EvalSummary) -> list[tuple[str, str, MetricResult]]:
    """(scope, metric, result) for every scope other than overall whose paired interval of
    candidate - baseline excludes 0: the slices that moved."""
    out = []
    for scope, metrics in summary.metrics.items():
        if scope == "overall":
            continue
        for name, r in metrics.items():
            iv = r.diff_interval
            if iv is not None and (iv[0] > 0 or iv[1] < 0):
                out.append((scope, name, r))
    return out


def _f(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _iv(iv: tuple[float, float] | None, signed: bool = False) -> str:
    return "" if iv is None else f" [{_f(iv[0], signed)}, {_f(iv[1], signed)}]"


def _metric_line(scope: str, name: str, r: MetricResult, baseline: str | None) -> str:
    line = f"- {name} ({scope}): {_f(r.value)}{_iv(r.interval)}, n={r.n}"
    if r.baseline_value is not None and r.value is not None:
        line += (
            f"; vs {baseline}: {_f(r.baseline_value)}, delta {_f(r.value - r.baseline_value, True)}"
        )
        line += _iv(r.diff_interval, True)
    elif r.problem:
        line += f" ({r.problem})"
    return line


def _changes(diff: VersionDiff | None) -> list[str]:
    if diff is None:
        return ["- first release of this service: nothing to compare with"]
    out: list[str] = []
    if diff.artifact:
        out.append(f"- model artifact: {diff.artifact.before} -> {diff.artifact.after}")
    for what, changes in (
        ("config", diff.config),
        ("data", diff.datasets),
        ("training parameter", diff.params),
    ):
        out += [f"- {what} {c.key}: {c.before} -> {c.after}" for c in changes]
    if diff.code:
        out.append(f"- code: {diff.code.before} -> {diff.code.after}")
    if diff.dependencies:
        keys = ", ".join(c.key for c in diff.dependencies[:5])
        more = len(diff.dependencies) - 5
        out.append(f"- dependencies: {keys}" + (f" and {more} more" if more > 0 else ""))
    return out or [f"- nothing changed between {diff.a} and {diff.b} but the registration"]


def _rollout(plan: Mapping[str, Any] | None) -> list[str]:
    if not plan:
        return ["Rollout plan: none yet (add rollout: to the service in liveops.yaml)"]
    out = []
    for step in plan.get("steps") or []:
        out.append(f"- step: {step}")
    gates = plan.get("gates") or []
    out += [f"- watched by gate: {g}" for g in gates]
    if plan.get("key"):
        out.append(f"- sticky key: {plan['key']}")
    return out or [f"- {dict(plan)}"]


def draft_notes(
    *,
    ref: str,
    baseline: str | None,
    diff: VersionDiff | None,
    config: Mapping[str, Any],
    summary: EvalSummary | None,
    new_failures: Sequence[str] = (),
    fixed_failures: Sequence[str] = (),
    rollout_plan: Mapping[str, Any] | None = None,
    scope: str = "overall (all traffic of the service)",
) -> str:
    """The first draft of a release's notes (Markdown), from what liveops knows."""
    decision = config.get("decision") or {}
    title = f"# {ref}" + (f" (replaces {baseline})" if baseline else "")
    lines = [title, "", "## What changed", *_changes(diff), ""]
    lines += [
        "## Threshold",
        f"- threshold {decision.get('threshold')}, below it: {decision.get('below_threshold')}; "
        f"fallback: {decision.get('fallback') or 'none'}",
        "",
        "## Data",
    ]
    if summary is None:
        lines += ["- not evaluated yet (no metric deltas to report)", ""]
    else:
        lines += [f"- evaluated on {summary.dataset} ({summary.cases} cases)", ""]
        base = summary.baseline
        lines.append("## Metrics (95 % intervals; delta = candidate - " + (base or "none") + ")")
        for name, r in (summary.metrics.get("overall") or {}).items():
            lines.append(_metric_line("overall", name, r, base))
        lines.append("")
        moved = moved_slices(summary)
        lines.append("## Slices that moved")
        lines += [_metric_line(s, m, r, base) for s, m, r in moved] or [
            "- none: no slice's paired interval excludes 0"
            if base
            else "- no baseline to compare with"
        ]
        lines.append("")
    lines.append("## Failures")
    lines.append(f"- new: {len(new_failures)}" + _ids(new_failures))
    lines.append(f"- fixed: {len(fixed_failures)}" + _ids(fixed_failures))
    lines += ["", "## Scope", f"- {scope}", "", "## Rollout", *_rollout(rollout_plan), ""]
    return "\n".join(lines)


def _ids(ids: Sequence[str]) -> str:
    if not ids:
        return ""
    shown = ", ".join(ids[:8])
    return f" ({shown}{', ...' if len(ids) > 8 else ''})"
