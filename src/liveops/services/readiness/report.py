"""Launch readiness of a version: the latest evaluation run and the latest review, in one view.

Checks, each ``pass``, ``fail``, ``missing`` or ``not_applicable`` (the rules are in
docs/review.md):

- **evaluation**: missing when the version was never evaluated.
- **gates**: every blocker and guardrail of the latest run. ``pass`` is pass; ``fail`` and
  ``error`` fail; ``inconclusive`` is missing (more evidence is needed); ``skipped`` (no baseline
  exists to compare with) passes with that reason, since it counts for nothing (section 7).
  Goal and signal gates never decide readiness and are left out.
- **robustness**: the invariance and accuracy under perturbation; fails when a gate on a
  ``robustness.*`` metric fails, missing when the suite measures no robustness (or no family
  applies). One more check per family that does not apply to the model (a text family for a
  model without a text field): ``not_applicable``, which counts for nothing.
- **probes**: one check per behaviour probe (it holds, or it fails); missing without probes.
- **review**: the latest review of the version. *coverage*: pass when every item has been scored,
  else missing; *agreement* per rubric item: Cohen's kappa between reviewers, averaged over
  pairs, fails below :data:`MIN_KAPPA` (reviewers read the rubric differently, so its results
  cannot be trusted yet), missing when no item was scored by two reviewers.
"""

from __future__ import annotations

from typing import Any

from liveops.core.readiness import Readiness, ReadinessCheck, ReadinessStatus, status_of
from liveops.core.records import EvalRunRecord
from liveops.services.registry import resolve_version
from liveops.services.review import ReviewSummary, latest_review, summarise
from liveops.store import Store

__all__ = ["MIN_KAPPA", "readiness"]

MIN_KAPPA = 0.4  # Landis and Koch: at or below 0.4 is "fair" agreement or worse
_GATE_STATUS: dict[str, ReadinessStatus] = {
    "pass": "pass",
    "fail": "fail",
    "error": "fail",
    "inconclusive": "missing",
    "skipped": "pass",
}


def readiness(store: Store, ref: str) -> Readiness:
    """The readiness view of version ``ref`` (``svc@N`` or ``svc@alias``)."""
    version = resolve_version(store, ref)
    runs = store.evaluation.list_runs(version.service, version.number, limit=1)
    run = runs[0] if runs else None
    checks: list[ReadinessCheck] = []
    if run is None:
        checks.append(
            ReadinessCheck(
                "evaluation",
                "evaluation run",
                "missing",
                f"{version.ref} has not been evaluated; run `liveops eval {version.ref}`",
            )
        )
    else:
        checks += _gates(run) + _robustness(run) + _probes(run)
    review = latest_review(store, version.service, version.number)
    summary = summarise(store, review) if review else None
    checks += _review(summary, version.ref, run)
    sources: dict[str, Any] = {
        "eval_run": run.id if run else None,
        "eval_created_at": run.created_at.isoformat() if run else None,
        "baseline": run.summary.baseline if run else None,
        "review": summary.to_dict() if summary else None,
    }
    return Readiness(version.ref, tuple(checks), sources)


def _gates(run: EvalRunRecord) -> list[ReadinessCheck]:
    out: list[ReadinessCheck] = []
    for g in run.verdicts:  # the stored verdicts, as judged when the run was made
        if not g.counts:
            continue
        status = _GATE_STATUS[g.verdict]
        reason = g.reason or g.verdict
        if g.verdict == "skipped":
            reason = f"skipped, counts for nothing: {reason.removeprefix('skipped: ')}"
        elif g.verdict == "inconclusive":
            reason = f"inconclusive: {reason}"
        out.append(
            ReadinessCheck("gates", f"{g.kind} {g.gate or g.metric}", status, reason, g.value)
        )
    return out


def _robustness(run: EvalRunRecord) -> list[ReadinessCheck]:
    rob = run.summary.robustness
    if rob is None:
        return [
            ReadinessCheck(
                "robustness",
                "robustness",
                "missing",
                "the suite measures no robustness (add robustness: perturbations: [...])",
            )
        ]
    gated = [g for g in run.verdicts if g.metric.startswith("robustness.") and g.counts]
    statuses = [_GATE_STATUS[g.verdict] for g in gated]
    not_applicable = rob.not_applicable
    value = rob.to_dict()
    # A family that cannot concern this model (typos for a model on numbers) is not evidence
    # that is missing: shown as not applicable, it never holds the version back.
    skipped = [
        ReadinessCheck("robustness", f"perturbation {family}", "not_applicable", str(why))
        for family, why in not_applicable.items()
    ]
    if rob.invariance is None:
        reason = (
            f"no perturbation family applies to the model (not applicable: "
            f"{', '.join(not_applicable)}); for numeric and categorical inputs use "
            "numeric_noise, missing_value, out_of_range, unit_mistake, unseen_category"
        )
        status: ReadinessStatus = status_of(statuses) if statuses else "missing"
        check = ReadinessCheck("robustness", "robustness under perturbation", status, reason, value)
        return [check, *skipped]
    status = status_of(statuses) if statuses else "pass"
    values = f"invariance {rob.invariance:.3f}, accuracy {rob.accuracy or 0.0:.3f}"
    worst = sorted(rob.families.items(), key=lambda kv: kv[1].invariance)[:2]
    weakest = ", ".join(f"{k} {v.invariance:.3f}" for k, v in worst)
    reason = f"{values}; weakest families: {weakest}" if weakest else values
    if not_applicable:
        reason += f"; not applicable: {', '.join(not_applicable)}"
    if not gated:
        reason += " (no gate on robustness: reported only)"
    check = ReadinessCheck("robustness", "robustness under perturbation", status, reason, value)
    return [check, *skipped]


def _probes(run: EvalRunRecord) -> list[ReadinessCheck]:
    probes = run.summary.probes
    if not probes:
        return [ReadinessCheck("probes", "behaviour probes", "missing", "the suite has no probes")]
    out: list[ReadinessCheck] = []
    for p in probes:
        if p.holds:
            reason = f"holds: answered {p.label} ({p.decision})"
        else:
            reason = f"expected {p.expected}, got {p.label} ({p.decision})" + (
                f"; error {p.error}" if p.error else ""
            )
        out.append(ReadinessCheck("probes", p.name, "pass" if p.holds else "fail", reason))
    return out


def _review(
    summary: ReviewSummary | None, ref: str, run: EvalRunRecord | None
) -> list[ReadinessCheck]:
    if summary is None:
        source = run.id if run else "RUN"
        return [
            ReadinessCheck(
                "review",
                "human review",
                "missing",
                f"no review of {ref} yet; `liveops review create --from-eval {source}`",
            )
        ]
    rid = summary.review.id
    coverage: ReadinessStatus = "pass" if summary.complete else "missing"
    reviewers = ", ".join(summary.reviewers)
    out = [
        ReadinessCheck(
            "review",
            f"review {rid} coverage",
            coverage,
            f"{summary.reviewed}/{summary.items} items scored"
            + (f" (reviewers: {reviewers})" if reviewers else " (no reviewer yet)"),
            {"items": summary.items, "reviewed": summary.reviewed},
        )
    ]
    for item in summary.agreement.items:
        answers = ", ".join(f"{k}={v}" for k, v in item.answers.items()) or "no answers"
        name = f"agreement on {item.rubric_item}"
        if not item.pairs:
            out.append(
                ReadinessCheck(
                    "review", name, "missing", f"no item scored by two reviewers ({answers})"
                )
            )
            continue
        kappa = item.mean_kappa
        observed = min(p.observed for p in item.pairs)
        if kappa is None:
            # Chance agreement is 1: every reviewer gave one and the same answer throughout.
            status: ReadinessStatus = "pass" if observed == 1.0 else "missing"
            why = f"kappa undefined (one answer throughout), observed agreement {observed:.2f}"
        else:
            status = "pass" if kappa > MIN_KAPPA else "fail"
            why = f"kappa {kappa:.2f} over {item.overlap} shared answers"
            if status == "fail":
                why += f" (needs > {MIN_KAPPA}: reviewers read this rubric item differently)"
        out.append(ReadinessCheck("review", name, status, f"{why}; {answers}", kappa))
    return out
