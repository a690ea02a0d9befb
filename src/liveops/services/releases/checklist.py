"""The automatic checklist items, computed from what the store holds (never ticked by hand).

- **evaluation**: the latest run of the version, if it ran on the current suite (the hash of
  the suite file as it is now), judged by readiness: every blocker and guardrail passes
  (``pass``), one fails (``fail``, or ``overridden`` once the overrides group approved a
  justification), one is inconclusive or there is none (``missing``).
- **review_coverage**: readiness's coverage check of the latest review of the version.
- **fallback**: the version's ``decision.fallback``; ``fail`` when none is set, ``missing``
  until the smoke test asked it, then what the smoke test found.
- **rollback_target**: the production version when it is another one, else the previous
  version, else (a first version) the fallback that the kill switch hands traffic to.
- **alert_rules**: the service's ``alerts:`` as applied now: ``pass`` when at least one rule
  watches the version (every version, an alias, or its number) and names a receiver; ``missing``
  otherwise (no rules, rules only for other versions, or rules that tell nobody).
- **staging_smoke**: what ``liveops release smoke`` recorded (``missing`` before).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from liveops.core.readiness import ReadinessCheck, status_of
from liveops.core.records import EvalRunRecord, VersionRecord
from liveops.core.release import (
    AUTOMATIC_ITEMS,
    MANUAL_ITEMS,
    ChecklistItem,
    ItemState,
    Override,
)
from liveops.core.serving.decision import DecisionSettings
from liveops.errors import LiveopsError
from liveops.services.evaluation import load_suite
from liveops.services.readiness import readiness
from liveops.services.registry import get_service_spec
from liveops.store import Store

__all__ = ["automatic_items", "current_run", "initial_items"]


def current_run(
    store: Store, version: VersionRecord, project_dir: Path
) -> tuple[EvalRunRecord | None, str]:
    """The latest run of ``version`` if it was made on the suite as it is now, and why not."""
    runs = store.evaluation.list_runs(version.service, version.number, limit=1)
    if not runs:
        return None, f"{version.ref} has not been evaluated; run `liveops eval {version.ref}`"
    run = runs[0]
    spec = get_service_spec(store, version.service)
    try:
        suite, _ = load_suite(spec, project_dir)
    except LiveopsError as exc:
        return None, f"the current suite cannot be read: {exc.message}"
    if suite.suite_hash() != run.suite_hash:
        return None, (
            f"the latest run {run.id} used another suite than the current one (it was edited "
            f"since); re-run `liveops eval {version.ref}`"
        )
    return run, ""


def automatic_items(
    store: Store,
    version: VersionRecord,
    project_dir: Path,
    *,
    overrides: Sequence[Override] = (),
    smoke: ChecklistItem | None = None,
) -> list[ChecklistItem]:
    """The automatic items as the store says now (``smoke``: the recorded smoke item)."""
    view = readiness(store, version.ref)
    run, why = current_run(store, version, project_dir)
    items = [
        _evaluation(run, why, view.checks, overrides),
        _review(view.checks),
        _fallback(version, smoke),
        _rollback(store, version),
        _alert_rules(store, version),
        smoke
        or ChecklistItem(
            "staging_smoke",
            "automatic",
            "missing",
            f"not run yet: `liveops release smoke REL --url URL` on a gateway serving "
            f"{version.ref} as staging",
        ),
    ]
    assert [i.key for i in items] == list(AUTOMATIC_ITEMS)
    return items


def initial_items(automatic: Sequence[ChecklistItem]) -> list[ChecklistItem]:
    """A new release's checklist: the automatic items, then the manual ones (not ticked)."""
    manual = [
        ChecklistItem(key, "manual", "missing", f"not ticked yet: `liveops release tick REL {key}`")
        for key in MANUAL_ITEMS
    ]
    return [*automatic, *manual]


def _evaluation(
    run: EvalRunRecord | None,
    why: str,
    checks: Sequence[ReadinessCheck],
    overrides: Sequence[Override],
) -> ChecklistItem:
    if run is None:
        return ChecklistItem("evaluation", "automatic", "missing", why)
    gates = [c for c in checks if c.group == "gates"]
    evidence: dict[str, Any] = {
        "eval_run": run.id,
        "suite_hash": run.suite_hash,
        "gates": {c.name: c.status for c in gates},
    }
    if not gates:
        return ChecklistItem(
            "evaluation",
            "automatic",
            "missing",
            f"run {run.id}: the suite has no blocker or guardrail gate, so nothing shows the "
            "version is good enough",
            evidence,
        )
    state: ItemState = status_of([c.status for c in gates])
    failed = [f"{c.name} ({c.reason})" for c in gates if c.status == "fail"]
    pending = [c.name for c in gates if c.status == "missing"]
    if state == "pass":
        detail = f"run {run.id}: {len(gates)} blocker/guardrail gate(s) pass"
    elif state == "fail":
        detail = f"run {run.id}: failed {'; '.join(failed)}"
        ov = next((o for o in overrides if o.item == "evaluation"), None)
        if ov is not None and ov.approved:
            state = "overridden"
            detail += (
                f"; overridden: {ov.justification!r} (asked by {ov.requested_by}, approved by "
                f"{ov.approved_by})"
            )
            evidence["override"] = ov.to_dict()
        elif ov is not None:
            detail += f"; an override awaits approval (asked by {ov.requested_by})"
    else:
        detail = f"run {run.id}: inconclusive {', '.join(pending)} (more evidence needed)"
    return ChecklistItem("evaluation", "automatic", state, detail, evidence)


def _review(checks: Sequence[ReadinessCheck]) -> ChecklistItem:
    review = [c for c in checks if c.group == "review"]
    coverage = next((c for c in review if c.name.endswith("coverage")), None)
    if coverage is None:
        reason = review[0].reason if review else "no review yet"
        return ChecklistItem("review_coverage", "automatic", "missing", reason)
    state: ItemState = "pass" if coverage.status == "pass" else "missing"
    review_id = coverage.name.split()[1]
    return ChecklistItem(
        "review_coverage",
        "automatic",
        state,
        f"review {review_id}: {coverage.reason}",
        {"review": review_id},
    )


def _fallback(version: VersionRecord, smoke: ChecklistItem | None) -> ChecklistItem:
    settings = DecisionSettings.from_config(version.config.get("decision"))
    if settings.fallback is None:
        return ChecklistItem(
            "fallback",
            "automatic",
            "fail",
            f"{version.ref} has no fallback (decision.fallback: rules or SERVICE@N); when the "
            "model fails, requests get 503",
        )
    found = (smoke.evidence.get("fallback") if smoke else None) or None
    if not found:
        return ChecklistItem(
            "fallback",
            "automatic",
            "missing",
            f"configured ({settings.fallback}); not yet asked in a smoke test",
            {"fallback": settings.fallback},
        )
    state: ItemState = "pass" if found.get("passed") else "fail"
    return ChecklistItem(
        "fallback",
        "automatic",
        state,
        f"configured ({settings.fallback}); in the smoke test {found.get('detail')}",
        {"fallback": settings.fallback, "smoke": found},
    )


def _alert_rules(store: Store, version: VersionRecord) -> ChecklistItem:
    rules = get_service_spec(store, version.service).alert_rules()
    where = "declare rules under alerts: of the service in liveops.yaml (docs/alerts.md)"
    if not rules:
        return ChecklistItem(
            "alert_rules",
            "automatic",
            "missing",
            f"{version.service} has no alert rules: nobody would be told when it goes wrong; "
            f"{where} and run `liveops service apply`",
        )

    def watches(pinned: int | str | None) -> bool:
        # None: every version; an alias follows the version it points at (the candidate once
        # launched); a number watches that version only.
        if pinned is None:
            return True
        text = str(pinned)
        return not text.isdigit() or int(text) == version.number

    mine = [r for r in rules if watches(r.version)]
    if not mine:
        pinned = ", ".join(sorted({f"v{r.version}" for r in rules}))
        return ChecklistItem(
            "alert_rules",
            "automatic",
            "missing",
            f"the {len(rules)} alert rule(s) of {version.service} watch other versions "
            f"({pinned}), not {version.ref}; leave out version: or name an alias",
        )
    told = [r for r in mine if r.receivers]
    if not told:
        return ChecklistItem(
            "alert_rules",
            "automatic",
            "missing",
            f"{len(mine)} alert rule(s) watch {version.ref} but name no receivers: nobody would "
            "be told; add receivers: [NAME] to them (declared under receivers:)",
            {"rules": [r.name for r in mine]},
        )
    receivers = sorted({name for r in told for name in r.receivers})
    pages = sum(1 for r in told if r.severity == "page")
    return ChecklistItem(
        "alert_rules",
        "automatic",
        "pass",
        f"{len(told)} rule(s) watch {version.ref} ({pages} page) and tell "
        f"{', '.join(receivers)}: {', '.join(r.name for r in told)}",
        {"rules": [r.name for r in told], "receivers": receivers},
    )


def _rollback(store: Store, version: VersionRecord) -> ChecklistItem:
    production = store.registry.get_alias(version.service, "production")
    if production is not None and production != version.number:
        return ChecklistItem(
            "rollback_target",
            "automatic",
            "pass",
            f"production is {version.service}@{production}: a rollback points it back",
            {"version": production},
        )
    earlier = [v.number for v in store.registry.list_versions(version.service)]
    earlier = [n for n in earlier if n < version.number]
    if earlier:
        return ChecklistItem(
            "rollback_target",
            "automatic",
            "pass",
            f"the previous version {version.service}@{max(earlier)}",
            {"version": max(earlier)},
        )
    fallback = DecisionSettings.from_config(version.config.get("decision")).fallback
    if fallback is not None:
        return ChecklistItem(
            "rollback_target",
            "automatic",
            "pass",
            f"no earlier version: the kill switch (`liveops service disable "
            f"{version.service}`) hands traffic to the fallback ({fallback})",
            {"fallback": fallback},
        )
    return ChecklistItem(
        "rollback_target",
        "automatic",
        "fail",
        f"{version.ref} is the first version and has no fallback: nothing to roll back to",
    )
