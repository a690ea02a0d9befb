"""Review from the command line: interactive `review next`, scripted submits, kappa, bad input."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liveops.core.review.items import CaseForReview
from liveops.core.review.rubric import parse_rubric
from liveops.services.review import ReviewSource, create_review_from
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.conftest import PROJECT_YAML

RUBRIC = [
    {"name": "correct_route", "scale": [True, False]},
    {"name": "failure_type", "choices": ["wrong_team", "language", "other"]},
]


def _review(tmp_path: Path, run_cli: Runner, n: int = 4) -> tuple[str, list[str]]:
    """A project with service `router` and a review of n items (made through the service API)."""
    (tmp_path / "liveops.yaml").write_text(PROJECT_YAML)
    assert run_cli("service", "apply").code == 0
    cases = [
        CaseForReview(
            f"eval:{i}",
            correct=i % 2 == 0,
            confidence=0.6 + i / 100,
            inputs={"text": f"case text {i}"},
            expected="billing",
            predicted="billing" if i % 2 == 0 else "technical",
        )
        for i in range(n)
    ]
    store = open_store(project_dir=tmp_path)
    try:
        source = ReviewSource("run1", "router", 1, parse_rubric(RUBRIC), cases, 0.75)
        review, items = create_review_from(store, source, sample=n, seed=0, actor="ann")
    finally:
        store.close()
    return review.id, [i.id for i in items]


def test_review_next_asks_each_rubric_item_and_saves(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid, items = _review(tmp_path, run_cli, n=3)
    # item 1: a wrong answer first (re-asked), then yes, skip failure_type; item 2: no/language;
    # item 3: q quits.
    monkeypatch.setattr(sys, "stdin", io.StringIO("maybe\nyes\n\nno\nlanguage\nq\n"))
    r = run_cli("review", "next", "--as", "ann")
    assert r.code == 0, r.err
    assert "'maybe' is not an answer to rubric item 'correct_route'" in r.out
    assert f"saved {items[0]}: correct_route=yes" in r.out
    assert f"saved {items[1]}: correct_route=no, failure_type=language" in r.out
    assert "stopped; 2 item(s) scored" in r.out
    assert "case text" in r.out
    assert "why sampled" in r.out
    shown = run_cli("review", "show", items[1], "--json").json()
    assert shown["reviews"]["ann"]["scores"] == {"correct_route": "no", "failure_type": "language"}
    # The next session resumes at the item not yet scored; end of input stops cleanly.
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\nother\n"))
    r = run_cli("review", "next", "--review", rid, "--as", "ann")
    assert f"saved {items[2]}" in r.out
    assert f"nothing left to review in {rid} for ann" in r.out
    nxt = run_cli("review", "next", "--as", "ann", "--json").json()
    assert nxt == {"review": rid, "reviewer": "ann", "item": None}


def test_two_reviewers_and_kappa_end_to_end(run_cli: Runner, tmp_path: Path) -> None:
    rid, items = _review(tmp_path, run_cli, n=4)
    ann = ["yes", "no", "no", "yes"]
    bob = ["yes", "no", "yes", "yes"]
    for reviewer, answers in (("ann", ann), ("bob", bob)):
        for item, answer in zip(items, answers, strict=True):
            r = run_cli(
                "review", "submit", item, "--score", f"correct_route={answer}", "--as", reviewer
            )
            assert r.code == 0, r.err
            assert f"saved {item} for {reviewer}: correct_route={answer}" in r.out
    data = run_cli("review", "show", rid, "--json").json()
    assert data["reviewed"] == data["reviewed_twice"] == 4
    assert data["complete"]
    route = data["agreement"]["items"][0]
    assert route["rubric_item"] == "correct_route"
    assert route["pairs"][0]["reviewers"] == ["ann", "bob"]
    assert route["pairs"][0]["kappa"] == pytest.approx(0.5)
    assert route["answers"] == {"no": 3, "yes": 5}
    human = run_cli("review", "show", rid)
    assert human.code == 0
    assert "ann & bob" in human.out
    assert "0.50" in human.out
    listed = run_cli("review", "list", "--json").json()
    assert [r["id"] for r in listed] == [rid]


def test_promote_through_the_cli(run_cli: Runner, tmp_path: Path) -> None:
    _rid, items = _review(tmp_path, run_cli, n=2)
    r = run_cli("review", "promote", items[0])
    assert r.code == 4
    assert "no scores yet" in r.err
    assert "liveops review submit" in r.err
    run_cli("review", "submit", items[0], "--score", "correct_route=no")
    r = run_cli("review", "promote", items[0], "--json")
    assert r.code == 0
    assert r.json()["dataset"] == "router-regression@1"
    r = run_cli("dataset", "show", "router-regression", "--json")
    assert r.json()["rows"] == 1
    r = run_cli("review", "show", items[0], "--json")
    assert r.code == 0
    assert r.json()["promotions"][0]["dataset"] == "router-regression"
    r = run_cli("review", "show", _rid, "--json")
    assert r.code == 0
    assert r.json()["promotions"][0]["item_id"] == items[0]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["review", "submit", "ITEM", "--score", "tone=ok"], 4, "the rubric has no item 'tone'"),
        (
            ["review", "submit", "ITEM", "--score", "correct_route=maybe"],
            4,
            "'maybe' is not an answer",
        ),
        (["review", "submit", "ITEM"], 4, "no scores given"),
        (["review", "submit", "ITEM", "--score", "correct_route"], 2, "is not RUBRIC_ITEM=VALUE"),
        (
            ["review", "submit", "rzzzzz-9", "--score", "correct_route=yes"],
            4,
            "'rzzzzz-9' does not exist",
        ),
        (["review", "show", "rzzzzz"], 4, "review 'rzzzzz' does not exist"),
        (["review", "next", "--review", "rzzzzz"], 4, "review 'rzzzzz' does not exist"),
        (["review", "promote", "ITEM", "--label", "refunds"], 4, "'refunds' is not a label"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(
    run_cli: Runner, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    _rid, items = _review(tmp_path, run_cli, n=2)
    if "promote" in args:
        run_cli("review", "submit", items[0], "--score", "correct_route=no")
    before = run_cli("review", "show", items[0], "--json").json()["reviews"]
    r = run_cli(*[items[0] if a == "ITEM" else a for a in args], "--json")
    assert r.code == code, r.err
    assert message in r.err
    if code == 4:
        assert r.json()["message"]
    assert run_cli("review", "show", items[0], "--json").json()["reviews"] == before


def test_review_next_in_a_real_terminal(run_cli: Runner, tmp_path: Path) -> None:
    """The installed `liveops` command in a pseudo-terminal, answered keystroke by keystroke."""
    _rid, items = _review(tmp_path, run_cli, n=2)
    exe = Path(sys.executable).with_name("liveops")
    env = {**os.environ, "LIVEOPS_USER": "cyd", "COLUMNS": "120", "TERM": "xterm"}
    env.pop("LIVEOPS_DATABASE_URL", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(exe), "review", "next"], stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path, env=env
    )
    os.close(slave)
    seen = ""

    def expect(pattern: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while not re.search(pattern, re.sub(r"\x1b\[[0-9;]*m", "", seen)):
            assert time.monotonic() < deadline, f"never saw {pattern!r} in:\n{seen}"
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 4096).decode("utf-8", "replace")
                except OSError:
                    break

    try:
        expect(r"correct_route \[yes/no\]: ")
        os.write(master, b"no\n")
        expect(r"failure_type \[wrong_team/language/other\]: ")
        os.write(master, b"wrong_team\n")
        expect(rf"saved {items[0]}")
        expect(r"correct_route \[yes/no\]: ")
        os.write(master, b"q\n")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    shown = run_cli("review", "show", items[0], "--json").json()
    assert shown["reviews"]["cyd"]["scores"] == {
        "correct_route": "no",
        "failure_type": "wrong_team",
    }
    assert run_cli("review", "show", items[1], "--json").json()["reviews"] == {}
