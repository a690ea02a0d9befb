"""``liveops predictions tail|show|purge`` as a user runs them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.core.serving.prediction import new_prediction_id
from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.services.registry import apply_project
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.conftest import PROJECT_YAML
from tests.services.predictions.test_log import rec

RAW_YAML = (
    PROJECT_YAML
    + """    logging: {raw_inputs: true, raw_retention_days: 7, redact: ['CU-\\d+']}
  - name: quiet
    owner: team@example.com
    inputs: {text: {type: string}}
    output: {labels: [a, b]}
"""
)


def _logged(tmp_path: Path) -> list[str]:
    (tmp_path / "liveops.yaml").write_text(RAW_YAML)
    store = open_store(project_dir=tmp_path)
    project = parse_project(RAW_YAML)
    apply_project(store, project, actor="ann")
    plog = open_prediction_log(store, tmp_path, LogSettings.for_services(project.services))
    records = [rec(inputs={"text": f"I am CU-{i:05d}, card 4111 1111 1111 1111"}) for i in range(3)]
    plog.submit(records)
    assert plog.flush(10)
    plog.close()
    # Raw inputs of a service that does not keep them (any more) and one long expired.
    old = new_prediction_id(time.time())
    store.predictions.insert_batch(
        [],
        [
            {
                "prediction_id": old,
                "service": "router",
                "inputs": {"text": "x"},
                "expires_at": datetime.now(UTC) - timedelta(days=1),
            },
            {
                "prediction_id": new_prediction_id(time.time()),
                "service": "quiet",
                "inputs": {"text": "y"},
                "expires_at": datetime.now(UTC) + timedelta(days=1),
            },
        ],
    )
    store.close()
    return [r.prediction_id for r in records]


def test_tail_and_show(run_cli: Runner, tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    r = run_cli("predictions", "tail", "--json", "-n", "2")
    assert r.code == 0, r.err
    assert [row["prediction_id"] for row in r.json()] == ids[::-1][:2]
    assert r.json()[0]["inputs"] == {"text": "I am [REDACTED], card [CARD]"}
    human = run_cli("predictions", "tail")
    assert human.code == 0
    assert "[CARD]" in human.out
    assert ids[0] in human.out
    shown = run_cli("predictions", "show", ids[0], "--json").json()
    assert shown["raw_inputs"] == {"text": "I am CU-00000, card 4111 1111 1111 1111"}
    assert shown["label"] == "billing"
    assert shown["feedback"] == []
    assert "raw_inputs" in run_cli("predictions", "show", ids[0]).out


def test_tail_fits_80_columns_and_names_the_one_service_once(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _logged(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    out = run_cli("predictions", "tail").out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "predictions of router" in out
    lines = out.splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("│ 01")]
    assert sorted(lines[i].split("│")[1].strip() for i in rows) == sorted(ids)
    for i in rows:
        label = lines[i].split("│")[2].strip()
        under = lines[i + 1].split("│")[1].strip()
        assert label == "billing 0.80"
        assert under == "@2 · 4.2 ms"


def test_show_unknown_and_bad_limit(run_cli: Runner, tmp_path: Path) -> None:
    _logged(tmp_path)
    r = run_cli("predictions", "show", "01ABCDEFGHJKMNPQRSTVWXYZ00")
    assert r.code == 4
    assert "no prediction" in r.err
    assert "next:" in r.err
    r = run_cli("predictions", "tail", "-n", "0")
    assert r.code == 2
    assert "--limit" in r.err


def test_purge_dry_run_then_for_real(run_cli: Runner, tmp_path: Path) -> None:
    _logged(tmp_path)
    dry = run_cli("predictions", "purge", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert dry.json()["deleted"] == 2
    assert dry.json()["services_off"] == ["quiet"]
    assert dry.json()["remaining"] == 3
    real = run_cli("predictions", "purge", "--json").json()
    assert (real["deleted"], real["remaining"]) == (2, 3)
    again = run_cli("predictions", "purge")
    assert again.code == 0
    assert "deleted 0 raw input(s); 3 kept" in again.out
