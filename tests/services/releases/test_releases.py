"""Releases on every backend: the checklist computed from the store, approvals by risk tier
(the author refused), overrides, ticks, notes and decisions; every refusal writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from liveops.core.project import parse_project
from liveops.errors import ConflictError, InvalidInputError, UsageError
from liveops.services.datasets import add_dataset
from liveops.services.evaluation import run_eval
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.services.releases import (
    approve,
    create_release,
    decide,
    request_override,
    set_notes,
    tick_item,
    view_release,
)
from liveops.store import Store
from liveops.store.release_tables import release_approvals, release_items, releases
from tests.services.conftest import train_tiny

PROJECT = """
services:
  - name: router
    owner: team@example.com
    risk: medium
    inputs:
      text: {type: string, required: true}
      language: {type: enum, values: [en, es]}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision:
      threshold: 0.5
      below_threshold: human_review
      fallback: rules
      rules: "liveops.demo.rules:route"
    suite: suite.yaml
approvals:
  groups: {engineering: [ann, bo], product: [cy], security: [dee]}
  low: [engineering]
  medium: [engineering, product]
  high: [engineering, product, security]
  overrides: security
"""

SUITE = """
cases: {dataset: router-eval, expected: label, must_pass: {dataset: router-must}}
metrics: [accuracy]
slices:
  - {name: spanish, where: {language: es}}
gates:
  - {metric: accuracy, min: MIN, kind: blocker}
latency_calls: 3
"""

TEXTS = [
    ("charged twice on my card", "billing", "en"),
    ("refund my invoice please", "billing", "en"),
    ("app crashes on login", "technical", "en"),
    ("error 500 when saving", "technical", "en"),
    ("me cobraron dos veces", "billing", "es"),
    ("la app falla al entrar", "technical", "es"),
]


def _project(store: Store, folder: Path, gate_min: float) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "liveops.yaml").write_text(PROJECT)
    (folder / "suite.yaml").write_text(SUITE.replace("MIN", str(gate_min)))
    rows = "text,label,language\n" + "".join(f"{t},{y},{lang}\n" for t, y, lang in TEXTS * 3)
    (folder / "eval.csv").write_text(rows)
    (folder / "must.csv").write_text("text,label,language\ncharged twice on my card,billing,en\n")
    apply_project(store, parse_project(PROJECT), actor="ann")
    add_dataset(store, folder / "eval.csv", name="router-eval", actor="ann")
    add_dataset(store, folder / "must.csv", name="router-must", actor="ann")
    register_version(store, "router", actor="ann", artifact=train_tiny(folder / "m1.skops", 0.5))
    set_alias(store, "router", "production", "1", actor="ann")
    register_version(store, "router", actor="ann", artifact=train_tiny(folder / "m2.skops", 2.0))
    run_eval(store, "router@2", actor="ci", project_dir=folder, resamples=100)
    return folder


@pytest.fixture
def passing(store: Store, tmp_path: Path) -> tuple[Store, Path]:
    return store, _project(store, tmp_path / "p", 0.1)


@pytest.fixture
def failing(store: Store, tmp_path: Path) -> tuple[Store, Path]:
    return store, _project(store, tmp_path / "p", 0.999)


def _snapshot(store: Store) -> dict[str, Any]:
    """Everything a refusal must leave as it was: the release tables and the audit head."""
    with store.engine.connect() as conn:
        out = {
            t.name: sorted(map(str, conn.execute(sa.select(t)).all()))
            for t in (releases, release_items, release_approvals)
        }
    head = store.audit.head()
    out["audit"] = str(head)
    return out


def test_a_draft_lists_every_item_with_its_state(passing: tuple[Store, Path]) -> None:
    store, folder = passing
    view = create_release(store, folder, "router@2", actor="eve")
    states = {i.key: (i.kind, i.state) for i in view.items}
    assert states == {
        "evaluation": ("automatic", "pass"),
        "review_coverage": ("automatic", "missing"),
        "fallback": ("automatic", "missing"),  # configured, not yet asked in a smoke test
        "rollback_target": ("automatic", "pass"),
        "alert_rules": ("automatic", "missing"),  # the project has no alert rules
        "staging_smoke": ("automatic", "missing"),
        "support_informed": ("manual", "missing"),
        "docs_updated": ("manual", "missing"),
        "launch_owner": ("manual", "missing"),
    }
    rollback = next(i for i in view.items if i.key == "rollback_target")
    assert "production is router@1" in rollback.detail
    assert view.release.policy.required == ("engineering", "product")
    assert view.release.authors == ("eve", "ann")
    assert view.exit_code == 3
    events = store.audit.events(object_id=view.release.id)
    assert [e.action for e in events] == ["release.created"]
    assert events[0].actor == "eve"
    # A second draft of the same version is refused: carry on with the first.
    with pytest.raises(ConflictError, match="still a draft"):
        create_release(store, folder, "router@2", actor="eve")


def test_the_evaluation_item_follows_the_current_suite(passing: tuple[Store, Path]) -> None:
    store, folder = passing
    rel = create_release(store, folder, "router@2", actor="eve").release
    (folder / "suite.yaml").write_text(SUITE.replace("MIN", "0.2"))  # the suite is edited
    item = next(i for i in view_release(store, rel.id, folder, actor="eve").items)
    assert (item.key, item.state) == ("evaluation", "missing")
    assert "another suite" in item.detail
    assert next(e.action for e in store.audit.events(object_id=rel.id)) == "release.checked"


def test_approvals_by_risk_tier_and_the_author_is_refused(passing: tuple[Store, Path]) -> None:
    store, folder = passing
    rel = create_release(store, folder, "router@2", actor="bo").release  # bo created it
    before = _snapshot(store)
    refusals = [
        ("ann", None, "ann is an author"),  # registered the version
        ("bo", None, "bo is an author"),  # created the release
        ("dee", None, "dee is in no group whose approval is missing"),  # security: not asked
        ("zed", None, "zed is in no group"),
        ("cy", "security", "not asked to approve this release"),
    ]
    for person, group, message in refusals:
        with pytest.raises(ConflictError, match=message):
            approve(store, rel.id, folder, actor=person, group=group)
        assert _snapshot(store) == before, person
    view = approve(store, rel.id, folder, actor="cy", comment="product ok")
    assert view.status.missing == ("engineering",)
    with pytest.raises(ConflictError, match="cy already approved"):
        approve(store, rel.id, folder, actor="cy")
    assert [(a.approver, a.group) for a in view.approvals] == [("cy", "product")]
    event = store.audit.events(object_id=rel.id)[0]
    assert (event.action, event.actor, event.reason) == ("release.approved", "cy", "product ok")


def test_launch_is_refused_with_the_list_and_nothing_written(passing: tuple[Store, Path]) -> None:
    store, folder = passing
    rel = create_release(store, folder, "router@2", actor="eve").release
    before = _snapshot(store)
    with pytest.raises(ConflictError) as err:
        decide(store, rel.id, folder, "launch", reason="ship it", actor="eve")
    blockers = err.value.details["blockers"]
    assert [b.split(":")[0] for b in blockers[:7]] == [
        "review_coverage",
        "fallback",
        "alert_rules",
        "staging_smoke",
        "support_informed",
        "docs_updated",
        "launch_owner",
    ]
    assert blockers[7:] == ["approval missing from engineering", "approval missing from product"]
    assert _snapshot(store) == before
    # Bad decisions are refused before anything: unknown kind, no scope, a scope off the inputs.
    with pytest.raises(UsageError, match="unknown decision"):
        decide(store, rel.id, folder, "ship", reason="x", actor="eve")
    with pytest.raises(UsageError, match="narrow_scope needs --scope"):
        decide(store, rel.id, folder, "narrow_scope", reason="x", actor="eve")
    with pytest.raises(InvalidInputError, match="not an input of router"):
        decide(
            store, rel.id, folder, "improve_first", reason="x", actor="eve", scope={"lang": ("en",)}
        )
    with pytest.raises(InvalidInputError, match="not among the allowed values"):
        decide(
            store,
            rel.id,
            folder,
            "narrow_scope",
            reason="x",
            actor="eve",
            scope={"language": ("fr",)},
        )
    assert _snapshot(store) == before
    # Improving first launches nothing: it can be recorded now, once.
    view = decide(store, rel.id, folder, "improve_first", reason="more Spanish data", actor="cy")
    assert view.release.decision is not None
    assert view.release.decision.evidence["eval_run"] is not None
    assert view.release.decision.evidence["checklist"]["review_coverage"] == "missing"
    with pytest.raises(ConflictError, match="is decided"):
        decide(store, rel.id, folder, "improve_first", reason="again", actor="cy")
    with pytest.raises(ConflictError, match="is decided"):
        approve(store, rel.id, folder, actor="cy")


def test_a_failed_evaluation_needs_an_approved_override(failing: tuple[Store, Path]) -> None:
    store, folder = failing
    rel = create_release(store, folder, "router@2", actor="eve").release
    item = view_release(store, rel.id, folder, actor="eve").items[0]
    assert (item.key, item.state) == ("evaluation", "fail")
    assert "blocker accuracy" in item.detail
    before = _snapshot(store)
    with pytest.raises(InvalidInputError, match="written justification"):
        request_override(store, rel.id, folder, actor="eve", justification="ok")
    with pytest.raises(ConflictError, match="no override to approve"):
        approve(store, rel.id, folder, actor="dee", override=True)
    assert _snapshot(store) == before
    why = "the blocker is set for a later goal; this version still halves support's manual work"
    view = request_override(store, rel.id, folder, actor="eve", justification=why)
    assert view.items[0].state == "fail"  # asked, not yet approved
    for person, message in (
        ("bo", "not in the overrides group"),
        ("eve", "asked for the override"),
    ):
        snap = _snapshot(store)
        with pytest.raises(ConflictError, match=message):
            approve(store, rel.id, folder, actor=person, override=True)
        assert _snapshot(store) == snap
    view = approve(store, rel.id, folder, actor="dee", override=True, comment="accepted")
    assert view.items[0].state == "overridden"
    assert "approved by dee" in view.items[0].detail
    assert view.status.missing == ("engineering", "product")  # an override approves no release
    actions = [e.action for e in store.audit.events(object_id=rel.id)]
    assert "release.override_requested" in actions
    assert "release.override_approved" in actions


def test_manual_items_record_who_and_when_automatic_ones_refuse(
    passing: tuple[Store, Path],
) -> None:
    store, folder = passing
    rel = create_release(store, folder, "router@2", actor="eve").release
    before = _snapshot(store)
    with pytest.raises(ConflictError, match="computed by liveops"):
        tick_item(store, rel.id, "staging_smoke", actor="eve")
    with pytest.raises(InvalidInputError, match="no item 'docs'"):
        tick_item(store, rel.id, "docs", actor="eve")
    assert _snapshot(store) == before
    item = tick_item(store, rel.id, "launch_owner", actor="bo", note="bo watches the launch")
    assert (item.state, item.by, item.detail) == (
        "pass",
        "bo",
        "ticked by bo: bo watches the launch",
    )
    assert item.at is not None
    with pytest.raises(ConflictError, match="ticked already, by bo"):
        tick_item(store, rel.id, "launch_owner", actor="cy")
    stored = {i.key: i for i in view_release(store, rel.id, folder, actor="eve").items}
    assert stored["launch_owner"].by == "bo"
    assert stored["launch_owner"].at is not None


def test_notes_are_drafted_flagged_and_editable(passing: tuple[Store, Path]) -> None:
    store, folder = passing
    rel = create_release(store, folder, "router@2", actor="eve").release
    assert rel.notes.startswith("# router@2 (replaces router@1)")
    assert "- model artifact:" in rel.notes
    assert "- accuracy (overall):" in rel.notes
    assert "delta" in rel.notes
    assert "Rollout plan: none yet" in rel.notes
    view = view_release(store, rel.id, folder, actor="eve")
    assert [f.code for f in view.flags] == ["no_rollout"]
    vague = set_notes(store, rel, "Improved quality.", actor="eve")
    assert vague.notes_edited
    codes = [f.code for f in view_release(store, rel.id, folder, actor="eve").flags]
    assert codes == ["vague_claim", "no_number", "no_scope", "no_rollout"]
    with pytest.raises(InvalidInputError, match="empty"):
        set_notes(store, rel, "  \n", actor="eve")
    assert store.releases.get(rel.id).notes == "Improved quality."  # type: ignore[union-attr]
