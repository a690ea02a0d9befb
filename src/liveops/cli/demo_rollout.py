"""What ``liveops demo`` prints of its rollout day (``liveops.demo.stage_rollout``): v2's
shadow agreement and Spanish disagreements, its canary rolled back by the Spanish guardrail
(with the gate's values), v3's release (the author's approval refused, the approvals, the
decision) and its rollout to 100 %, and the audit log's steps with their actors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveops.demo.stage_rollout import RolloutResult, RolloutStory

__all__ = ["rollout_lines", "rollout_nexts"]

# The audit actions the story shows (the releases' recomputed checklists and the reviews'
# scores are in `liveops audit log` too).
_SHOWN = (
    "release.created",
    "release.notes_edited",
    "review.created",
    "release.override_requested",
    "release.override_approved",
    "release.approved",
    "release.ticked",
    "release.smoke",
    "release.decided",
    "rollout.",
    "alias.set",
    "version.registered",
    "dataset.added",
    "eval.",
    "incident.opened",
    "incident.resolved",
)


def _t(iso: str | None) -> str:
    return "-" if iso is None else f"{datetime.fromisoformat(iso):%a %d %b %H:%M}"


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * float(v):.1f}%"


def _gate(g: dict[str, Any]) -> str:
    lo, hi, est = g.get("lower"), g.get("upper"), g.get("estimate")
    if est is None:
        values = "no value yet"
    else:
        values = f"candidate - baseline {est:+.3f}"
        if lo is not None and hi is not None:
            values += f", 95% sequence [{lo:+.3f}, {hi:+.3f}]"
    return (
        f"{g['gate']}: {g['verdict']} ({values}; {g.get('n_candidate')} candidate and "
        f"{g.get('n_baseline')} baseline answers, margin {g.get('margin')})"
    )


def _transitions(story: RolloutStory) -> list[str]:
    """The looks that moved the rollout (and its last one), one line each."""
    lines = []
    for i, lk in enumerate(story.looks):
        if lk["action"] in ("advance", "abort", "conclude") or i == len(story.looks) - 1:
            lines.append(f"    {_t(lk['at'])} {lk['step']}: {lk['detail']}")
    return lines


def rollout_lines(r: RolloutResult) -> list[str]:
    """The rollout day, as printed lines (Rich markup-free)."""
    from liveops.demo.stage_rollout import BATCH, LABEL_SHARE, LOOK_EVERY

    v2, v3 = r.v2, r.v3
    head = (
        f"the rollout day ({r.day}): {r.answers:,} answers of {r.world} traffic (40% Spanish) "
        f"through a real gateway at {r.per_day:,} a day in requests of {BATCH}, "
        f"{LABEL_SHARE:.0%} labelled 5 min to 2 h later, until v3 is production; the controller "
        f"looked every {LOOK_EVERY} simulated minutes. Wall time {r.wall_s:.0f} s (and "
        f"{r.train_s:.0f} s to train v3)."
    )
    lines = [head]
    rel2 = r.releases.get("v2")
    if rel2 is not None:
        ov = rel2.override or {}
        lines.append(
            f"  release {rel2.id} of {rel2.ref}: its failed evaluation overridden (asked by "
            f"{ov.get('requested_by')}, approved by {ov.get('approved_by')}); approved by "
            + ", ".join(f"{a['by']} ({a['group']})" for a in rel2.approvals)
        )
    lines.append(f"  rollout {v2.id} of {v2.ref} against {v2.baseline}, by {v2.started_by}:")
    sh = v2.shadow
    if sh:
        lines.append(
            f"    shadow agreement: {_pct(sh.get('agreement'))} of {sh.get('pairs')} pairs; "
            f"spanish {_pct(sh['spanish'].get('agreement'))} of {sh['spanish'].get('pairs')}; "
            f"{sh.get('sampled')} disagreements sampled for review {sh.get('review')}"
        )
    for d in v2.spanish_disagreements:
        truth = f", the route that came back: {d['label']}" if d["label"] else ""
        lines.append(
            f"      «{_short(d['text'])}» served {d['served']}, shadow {d['shadow']}{truth}"
        )
    lines += _transitions(v2)
    for g in v2.failing:
        lines.append(f"    failing gate {_gate(g)}")
    if v2.incident is not None:
        lines.append(
            f"    the rollback opened incident {v2.incident} ({v2.incident_status or 'open'})"
        )
    ev = r.v3_eval
    if ev:
        lines.append(
            f"  {ev['ref']} trained by bo with more Spanish data (Spanish evaluation accuracy "
            f"{ev['metrics'].get('accuracy_es', 0):.3f}): run {ev['run']}, exit code "
            f"{ev['exit_code']}; review {ev['review']}"
        )
    rel3 = r.releases.get("v3")
    if rel3 is not None:
        lines.append(f"  release {rel3.id} of {rel3.ref}, created by {rel3.created_by}:")
        if rel3.refused:
            first = rel3.refused.splitlines()[0]
            lines.append(f"    bo approves: refused: {first}")
        lines.append(
            "    approved by " + ", ".join(f"{a['by']} ({a['group']})" for a in rel3.approvals)
        )
        if rel3.smoke:
            lines.append(f"    staging smoke: {rel3.smoke}")
        if rel3.blocked:
            lines.append(f"    launch refused: {rel3.blocked}")
        if rel3.decision:
            d = rel3.decision
            lines.append(f"    decision: {d['kind']} by {d['by']} at {_t(d['at'])}: {d['reason']}")
    if v3.id:
        lines.append(f"  rollout {v3.id} of {v3.ref} against {v3.baseline}, by {v3.started_by}:")
        lines += _transitions(v3)
        last = v3.looks[-1]["gates"] if v3.looks else []
        lines += [f"    {_gate(g)}" for g in last]
    lines.append(f"  production: v{r.production}")
    shown = [e for e in r.audit if e["action"].startswith(_SHOWN)]
    lines.append(f"  the audit log of the day ({len(r.audit)} events; the steps):")
    lines += [
        f"    {_t(e['time'])} {e['actor']:<18} {e['action']:<26} {e['object']}" for e in shown
    ]
    return lines


def _short(text: str, words: int = 10) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def rollout_nexts(r: RolloutResult) -> list[str]:
    out = []
    if r.v2.id:
        out.append(f"liveops rollout status {r.v2.id}")
    if r.v2.shadow.get("review"):
        out.append(f"liveops review show {r.v2.shadow['review']}")
    if r.v2.incident is not None:
        out.append(f"liveops incident show {r.v2.incident}")
    if r.v3.ref:
        out.append(f"liveops release show {r.v3.ref}")
    out.append("liveops audit log -n 40")
    return out
