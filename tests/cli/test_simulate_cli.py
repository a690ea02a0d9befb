"""``liveops simulate``'s bad input is refused before a gateway starts, with the next step."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.tabular import apply_tabular, tabular_yaml


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "liveops.yaml").write_text(tabular_yaml())
    store = open_store(project_dir=folder)
    apply_tabular(store)
    store.close()
    return folder


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--per-day", "10"], 2, "--mode (the demo's generator) or --data"),
        (["--mode", "normal:1", "--data", "x.csv"], 2, "not both"),
        (["--mode", "normal:5,sideways:2"], 2, "unknown mode 'sideways'"),
        (["--mode", "normal:5,covariate_shift"], 2, "does not say how many days"),
        (["--mode", "normal:1", "--label-delay", "2d-1h"], 2, "shortest delay is longer"),
        (["--mode", "normal:1", "--monitor-every", "1m"], 2, "at least 5m"),
        (["--mode", "normal:1", "--start", "soon"], 2, "is not a time"),
        (["--data", "missing.jsonl:2"], 4, "missing.jsonl does not exist"),
        (["--data", "nosuchset:2"], 4, "nosuchset"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    run_cli: Runner, project: Path, args: list[str], code: int, said: str
) -> None:
    r = run_cli("simulate", "tumours", *args, "--json", cwd=project)
    assert r.code == code, r.out + r.err
    assert said in r.json()["message"]
    store = open_store(project_dir=project)
    try:
        assert store.predictions.count() == 0
    finally:
        store.close()


def test_an_unknown_service_is_named(run_cli: Runner, project: Path) -> None:
    r = run_cli("simulate", "tumors", "--mode", "normal:1", cwd=project)
    assert r.code == 4
    assert "tumors" in r.err
