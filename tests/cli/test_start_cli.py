"""Starting out: commands outside a project stop without creating anything; `liveops init`
scaffolds a project that the real parsers and `service apply` accept."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from liveops.core.evaluation.suite import parse_suite
from liveops.core.project import parse_project
from tests.cli_runner import Runner
from tests.tabular import TABULAR_YAML


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


STORE_COMMANDS = [
    ("service", "list"),
    ("service", "apply"),
    ("versions", "list", "cancer"),
    ("register", "cancer", "--entrypoint", "tests.server.models:v1"),
    ("dataset", "list"),
    ("audit", "verify"),
    ("audit", "anchor"),
    ("db", "upgrade"),
    ("serve", "--port", "PORT_IN_USE"),  # were it to start, it could not bind: no hang
    ("predictions", "tail"),
    ("eval", "cancer@1"),
    ("readiness", "cancer@1"),
    ("runs", "list"),
    ("review", "list"),
]


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_store_command_outside_a_project_creates_nothing(
    run_cli: Runner, tmp_path: Path, args: tuple[str, ...]
) -> None:
    folder = tmp_path / "not-a-project"
    (folder / "notes").mkdir(parents=True)
    before = _tree(folder)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = tuple(port if a == "PORT_IN_USE" else a for a in args)
        r = run_cli(*args, cwd=folder / "notes")
    assert r.code == 4, (r.out, r.err)
    assert f"no liveops.yaml here ({folder / 'notes'}) or above" in r.err
    assert "liveops init" in r.err
    assert "Traceback" not in r.err
    assert _tree(folder) == before  # no .liveops/ anywhere
    r = run_cli(*args, "--json") if args[0] in ("service", "audit") else r
    assert r.code == 4


def test_a_subfolder_of_a_project_finds_it_and_the_url_needs_no_project(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "liveops.yaml").write_text(TABULAR_YAML)
    (tmp_path / "models").mkdir()
    assert run_cli("service", "apply", cwd=tmp_path / "models").code == 0
    assert (tmp_path / ".liveops" / "liveops.db").is_file()
    assert not (tmp_path / "models" / ".liveops").exists()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-db"
    monkeypatch.setenv("LIVEOPS_DATABASE_URL", f"sqlite:///{elsewhere / 'x.db'}")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    r = run_cli("service", "list", "--json", cwd=outside)
    assert r.code == 0
    assert r.json() == []


def test_init_scaffolds_a_project_that_parses_and_applies(run_cli: Runner, tmp_path: Path) -> None:
    r = run_cli("init", "loans", "--service", "loan-triage")
    assert r.code == 0, r.err
    project = tmp_path / "loans"
    assert "liveops service apply" in r.out
    assert "cd " in r.out
    text = (project / "liveops.yaml").read_text()
    assert text.count("#") > 20  # commented for a first reader
    spec = parse_project(text, "liveops.yaml").services[0]
    assert spec.name == "loan-triage"
    assert spec.suite == "suites/loan-triage.yaml"
    assert spec.inputs["region"].type == "enum"
    assert spec.inputs["income"].type == "number"
    # Default alert rules come with it, valid as they are; they tell nobody until a receiver
    # is added, which the release checklist says.
    rules = {r.name: r for r in spec.alert_rules()}
    assert list(rules) == ["errors", "slow answers", "fallbacks", "quality drop"]
    assert rules["errors"].severity == "page"
    assert all(not r.receivers for r in rules.values())
    suite = parse_suite((project / spec.suite).read_text(), spec.suite)
    assert suite.cases.dataset == "loan-triage-eval"
    assert suite.gates
    r = run_cli("service", "apply", "--json", cwd=project)
    assert r.code == 0, r.err
    assert r.json() == [{"service": "loan-triage", "outcome": "created"}]
    r = run_cli("alerts", "export", "loan-triage", cwd=project)
    assert r.code == 0, r.err
    assert "alert: Errors" in r.out  # valid rules for a Prometheus user too
    assert "monitor only (a slice, a change, or not on /metrics): quality drop" in r.out


def test_init_refuses_to_overwrite_unless_forced(run_cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "liveops.yaml").write_text(TABULAR_YAML)
    before = _tree(tmp_path)
    r = run_cli("init")
    assert r.code == 4
    assert f"would overwrite {tmp_path / 'liveops.yaml'}" in r.err
    assert "--force" in r.err
    assert _tree(tmp_path) == before
    assert (tmp_path / "liveops.yaml").read_text() == TABULAR_YAML
    r = run_cli("init", "--force", "--json")
    assert r.code == 0
    assert len(r.json()["files"]) == 2
    assert "my-service" in (tmp_path / "liveops.yaml").read_text()
    assert run_cli("init", "--service", "Bad Name").code == 2


def test_the_scaffold_turns_into_a_text_service_as_its_comments_say(
    run_cli: Runner, tmp_path: Path
) -> None:
    assert run_cli("init").code == 0
    text = (tmp_path / "liveops.yaml").read_text()
    text = text.replace("      # text:    {", "      text:    {").replace(
        "model_inputs: [income, age, region]", "model_inputs: [text]"
    )
    spec = parse_project(text).services[0]
    assert spec.model_inputs == ["text"]
    assert spec.inputs["text"].max_length == 5000
