"""The pure parts of releases: the approvals: block (line-numbered errors), the approval rule
and the vague-notes checker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.core.release import Approval, ApprovalPolicy, approval_status, refuse_approval
from liveops.core.release_notes import check_notes
from liveops.errors import ProjectFileError

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "liveops" / "demo" / "liveops.yaml"
SERVICE = """services:
  - name: svc
    owner: me@example.com
    inputs: {text: {type: string}}
    output: {labels: [a]}
"""


def test_the_shipped_example_declares_approvals_by_tier() -> None:
    approvals = parse_project(SHIPPED.read_text()).approvals
    assert approvals is not None
    assert approvals.required("medium") == ["engineering", "product"]
    assert approvals.required("high") == ["engineering", "product", "security"]
    assert approvals.overrides == "security"


@pytest.mark.parametrize(
    ("block", "line", "words"),
    [
        ("approvals:\n  groups: {eng: [ann]}\n  low: [eng, product]\n", 8, "approvals.low.1"),
        ("approvals:\n  groups: {eng: [ann]}\n  overrides: sec\n", 8, "'sec' is not declared"),
        ("approvals:\n  groups: {eng: []}\n", 7, "nobody in it"),
        ("approvals:\n  groups: {eng: [ann, ann]}\n", 7, "a person twice"),
        ("approvals:\n  groups: {eng: [ann]}\n  meduim: [eng]\n", 8, "unknown field"),
        ("approvals:\n  low: [eng]\n", 7, "approvals.groups: this field is required"),
    ],
)
def test_a_bad_approvals_block_names_its_line(block: str, line: int, words: str) -> None:
    with pytest.raises(ProjectFileError) as err:
        parse_project(SERVICE + block, "liveops.yaml")
    assert f"liveops.yaml:{line}" in err.value.message
    assert words in err.value.message


def test_tiers_default_upwards_and_each_group_approves_once() -> None:
    approvals = parse_project(
        SERVICE + "approvals:\n  groups: {eng: [ann, bo], pm: [cy]}\n  low: [eng]\n"
        "  medium: [eng, pm]\n"
    ).approvals
    assert approvals is not None
    assert approvals.required("high") == ["eng", "pm"]  # no high: as medium
    policy = ApprovalPolicy(("eng", "pm"), {"eng": ("ann", "bo"), "pm": ("cy",)})
    at = datetime(2026, 1, 1, tzinfo=UTC)
    given = [Approval("ann", "eng", at)]
    assert approval_status(policy, given).missing == ("pm",)
    # bo is in eng, which has approved already: nothing left for bo to approve.
    assert (
        refuse_approval(policy, given, "bo", authors=("zed",))
        == "bo is in no group whose approval is missing (pm: cy)"
    )
    assert refuse_approval(policy, given, "cy", authors=("zed",)) is None
    assert "author" in (refuse_approval(policy, given, "cy", authors=("cy",)) or "")
    # An override's approval never counts as an approval of the release.
    assert approval_status(policy, [Approval("cy", "pm", at, override=True)]).missing == (
        "eng",
        "pm",
    )


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Improved quality.", ["vague_claim", "no_number", "no_scope", "no_rollout"]),
        ("Better routing for Spanish.", ["vague_claim", "no_number", "no_scope", "no_rollout"]),
        (
            "Accuracy +0.03 [0.01, 0.05] overall. Rollout plan: canary 10 %.",
            [],
        ),
        ("Accuracy +0.03 on the spanish slice.\nRollout plan: none", ["no_rollout"]),
        ("Accuracy +0.03 on all traffic; faster answers.\nCanary 10 %", ["vague_claim"]),
        ("Faster: p95 120 -> 90 ms for all traffic, via a canary at 10 %.", []),
    ],
)
def test_vague_notes_are_flagged(text: str, codes: list[str]) -> None:
    assert [f.code for f in check_notes(text)] == codes
