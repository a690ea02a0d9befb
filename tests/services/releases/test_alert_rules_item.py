"""The checklist's ``alert_rules`` item, computed by liveops from the applied ``alerts:`` (never
ticked by hand), on a tabular service: missing without rules, without receivers or with rules
for another version only; passing once a rule watches the version and tells someone; a draft
made before the item existed gets it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from liveops.core.project import parse_project
from liveops.errors import ConflictError
from liveops.services.registry import apply_project, register_version
from liveops.services.releases import create_release, tick_item, view_release
from liveops.store import Store
from liveops.store.release_tables import release_items
from tests.services.tabular import CANCER_MAP, cancer_model, tabular_yaml

RECEIVERS = """
receivers:
  oncall: {webhook: {url: "http://127.0.0.1:9/liveops"}}
"""


def with_rules(rules: str) -> str:
    """The tabular project with ``rules`` under tumours (and a receiver declared)."""
    head, rest = tabular_yaml().split("  - name: wines", 1)
    return head + "    alerts:\n" + rules + "  - name: wines" + rest + RECEIVERS


def apply(store: Store, text: str) -> None:
    apply_project(store, parse_project(text, "liveops.yaml"), actor="ann")


def item(store: Store, folder: Path, rel: str) -> tuple[str, str]:
    view = view_release(store, rel, folder, actor="eve")
    one = next(i for i in view.items if i.key == "alert_rules")
    return one.state, one.detail


@pytest.fixture
def tumours(store: Store, tmp_path: Path) -> tuple[Store, Path]:
    apply(store, tabular_yaml())
    model = cancer_model(tmp_path / "m.skops")
    labels = {"output.label_map": CANCER_MAP}
    register_version(store, "tumours", actor="ann", artifact=model, config=labels)
    return store, tmp_path


def test_the_item_follows_the_applied_rules(tumours: tuple[Store, Path]) -> None:
    store, folder = tumours
    rel = create_release(store, folder, "tumours@1", actor="eve").release.id
    state, detail = item(store, folder, rel)
    assert state == "missing"
    assert "tumours has no alert rules" in detail
    assert "liveops service apply" in detail

    # Rules that tell nobody do not count.
    apply(store, with_rules("      - {name: errors, metric: error_rate, above: 0.1}\n"))
    state, detail = item(store, folder, rel)
    assert state == "missing"
    assert "name no receivers" in detail

    # Rules pinned to another version do not watch this one.
    apply(
        store,
        with_rules(
            "      - {name: errors, metric: error_rate, above: 0.1, version: 7, "
            "receivers: [oncall]}\n"
        ),
    )
    state, detail = item(store, folder, rel)
    assert state == "missing"
    assert "watch other versions (v7), not tumours@1" in detail

    # A rule on every version (or an alias) with a receiver: pass, with the evidence.
    apply(
        store,
        with_rules(
            "      - {name: errors, metric: error_rate, above: 0.1, severity: page, "
            "receivers: [oncall]}\n"
            "      - {name: south quality, metric: accuracy, slice: clinic=south, below: 0.8, "
            "version: production, receivers: [oncall]}\n"
        ),
    )
    view = view_release(store, rel, folder, actor="eve")
    one = next(i for i in view.items if i.key == "alert_rules")
    assert one.state == "pass"
    assert one.detail.startswith("2 rule(s) watch tumours@1 (1 page) and tell oncall")
    assert dict(one.evidence) == {"rules": ["errors", "south quality"], "receivers": ["oncall"]}
    # Every change was recorded as computed by liveops.
    checks = [e for e in store.audit.events(object_id=rel) if e.action == "release.checked"]
    assert all(e.data["computed_by"] == "liveops" for e in checks)
    assert ["missing", "pass"] in [e.data["changes"].get("alert_rules") for e in checks]

    # Rules removed again: back to missing.
    apply(store, tabular_yaml())
    assert item(store, folder, rel)[0] == "missing"


def test_the_item_is_never_ticked_by_hand(tumours: tuple[Store, Path]) -> None:
    store, folder = tumours
    rel = create_release(store, folder, "tumours@1", actor="eve").release.id
    with pytest.raises(ConflictError, match="never ticked by hand"):
        tick_item(store, rel, "alert_rules", actor="bo", note="we have rules")
    assert item(store, folder, rel)[0] == "missing"


def test_a_draft_made_before_the_item_existed_gets_it(tumours: tuple[Store, Path]) -> None:
    store, folder = tumours
    apply(
        store,
        with_rules("      - {name: errors, metric: error_rate, above: 0.1, receivers: [oncall]}\n"),
    )
    rel = create_release(store, folder, "tumours@1", actor="eve").release.id
    with store.write() as conn:  # as an older liveops stored it
        conn.execute(
            sa.delete(release_items).where(
                release_items.c.release_id == rel, release_items.c.key == "alert_rules"
            )
        )
    view = view_release(store, rel, folder, actor="eve")
    assert [i.key for i in view.items][-1] == "alert_rules"
    assert view.items[-1].state == "pass"
