"""`liveops service disable` on a service with no fallback says requests will fail and asks for
--yes; with a fallback it says what answers."""

from __future__ import annotations

import json
from pathlib import Path

from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.serving.wine import train_wine, wine_yaml


def _wine(tmp_path: Path, decision: str) -> None:
    (tmp_path / "liveops.yaml").write_text(wine_yaml(decision))
    (tmp_path / "wine_rules.py").write_text("def classify(inputs):\n    return 'cultivar_a'\n")


def _disabled(tmp_path: Path) -> bool:
    store = open_store(project_dir=tmp_path)
    try:
        return any(n == "wine" and d for n, _, d, _ in store.registry.alias_snapshot("production"))
    finally:
        store.close()


def test_disable_without_a_fallback_needs_yes(run_cli: Runner, tmp_path: Path) -> None:
    _wine(tmp_path, "{}")
    assert run_cli("service", "apply").code == 0
    artifact = train_wine(tmp_path / "wine.skops")
    assert run_cli("register", "wine", "--artifact", str(artifact)).code == 0
    assert run_cli("alias", "set", "wine", "production", "1").code == 0

    r = run_cli("service", "disable", "wine")
    assert r.code == 2
    said = r.out + r.err
    assert "wine has no fallback" in said
    assert "fails with 503" in said
    assert "--yes" in said
    assert not _disabled(tmp_path)

    r = run_cli("service", "disable", "wine", "--json")
    assert r.code == 2
    assert not _disabled(tmp_path)
    error = json.loads(r.out or r.err)
    assert "fails with 503" in error["message"]
    assert "--yes" in error["hint"]

    r = run_cli("service", "disable", "wine", "--yes", "-m", "bad cellar data")
    assert r.code == 0
    assert "requests get 503" in r.out
    assert _disabled(tmp_path)


def test_disable_with_a_fallback_says_what_answers(run_cli: Runner, tmp_path: Path) -> None:
    _wine(tmp_path, '{fallback: rules, rules: "wine_rules:classify"}')
    assert run_cli("service", "apply").code == 0
    artifact = train_wine(tmp_path / "wine.skops")
    assert run_cli("register", "wine", "--artifact", str(artifact)).code == 0
    assert run_cli("alias", "set", "wine", "production", "1").code == 0

    r = run_cli("service", "disable", "wine", "--json")
    assert r.code == 0
    assert r.json()["enabled"] is False
    r = run_cli("service", "enable", "wine")
    r = run_cli("service", "disable", "wine")
    assert r.code == 0
    assert "fallback: rules wine_rules:classify" in r.out
