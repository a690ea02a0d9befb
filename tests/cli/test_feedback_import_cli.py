"""``liveops feedback import`` as a user runs it: summary, rejects file, exit codes."""

from __future__ import annotations

from pathlib import Path

import orjson

from liveops.core.project import parse_project
from liveops.services.predictions import open_prediction_log
from liveops.services.registry import apply_project
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.predictions.test_log import rec
from tests.services.tabular import tabular_yaml


def _logged(folder: Path, n: int) -> list[str]:
    text = tabular_yaml()
    (folder / "liveops.yaml").write_text(text)
    store = open_store(project_dir=folder)
    apply_project(store, parse_project(text), actor="ann")
    plog = open_prediction_log(store, folder / "spool")
    records = [
        rec("wines", inputs={"alcohol": 12.5, "region": "north"}, label="red", segments={})
        for _ in range(n)
    ]
    plog.submit(records)
    assert plog.flush(30)
    plog.close()
    store.close()
    return [r.prediction_id for r in records]


def test_an_import_prints_a_summary_and_writes_the_rejects(run_cli: Runner, tmp_path: Path) -> None:
    ids = _logged(tmp_path, 3)
    good = tmp_path / "good.csv"
    good.write_text("prediction_id,label,source\n" + "".join(f"{p},white,cellar\n" for p in ids))
    r = run_cli("feedback", "import", str(good))
    assert r.code == 0, r.err
    assert "3 row(s); 3 accepted" in r.out
    assert not (tmp_path / "good.csv.rejects.jsonl").exists()

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "prediction_id,label,source\n"
        f"{ids[0]},red,cellar\n"  # supersedes white
        f"{ids[1]},rose,cellar\n"  # not a wines label
        "T-1,red,cellar\n"
    )
    r = run_cli("feedback", "import", str(mixed))
    assert r.code == 3  # some rows were not stored: inconclusive, not a crash
    assert "1 accepted (1 superseding" in r.out
    assert "1 unknown_label (first: line 2" in r.out
    assert "1 bad_id" in r.out
    rejects = tmp_path / "mixed.csv.rejects.jsonl"
    lines = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    assert [(x["line"], x["reason"]) for x in lines] == [(2, "unknown_label"), (3, "bad_id")]

    r = run_cli("feedback", "import", str(mixed), "--json")
    assert r.code == 3
    doc = r.json()
    assert (doc["accepted"], doc["unchanged"], doc["rejected"]) == (0, 1, 2)
    assert [x["row"]["prediction_id"] for x in doc["rejects"]] == [ids[1], "T-1"]


def test_an_unreadable_file_is_exit_4_with_a_hint(run_cli: Runner, tmp_path: Path) -> None:
    _logged(tmp_path, 1)
    r = run_cli("feedback", "import", str(tmp_path / "missing.csv"))
    assert r.code == 4
    assert "cannot read" in r.err
    assert "next:" in r.err or "hint" in r.err
    r = run_cli("feedback", "import", str(tmp_path / "missing.csv"), "--json")
    assert r.code == 4
    assert r.json()["error"] == "invalid_dataset_file"
