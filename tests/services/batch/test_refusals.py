"""Bad requests are refused before any work, with the next step and the exit code of
conventions.md, and leave no output, no run folder and no logged answer behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.store import open_store
from tests.services.batch.conftest import Batch, logged_rows
from tests.services.batch.project import cancer_rows, router_rows, write_parquet


def _nothing_left(project: Path, out: Path) -> None:
    assert not out.exists()
    assert not out.with_name(out.name + ".liveops-batch").exists()
    assert logged_rows(project) == []


def test_missing_required_column(batch: Batch, project: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "mean_texture"} for r in cancer_rows(10)]
    src = write_parquet(project / "in.parquet", rows)
    out = project / "out.parquet"
    r = batch("cancer", "-i", str(src), "-o", str(out))
    assert r.code == 4
    assert "has no column mean_texture, required by the service's inputs" in r.err
    _nothing_left(project, out)


def test_output_exists(batch: Batch, project: Path) -> None:
    src = write_parquet(project / "in.parquet", router_rows(10))
    out = project / "out.parquet"
    out.write_text("keep me")
    r = batch("router", "-i", str(src), "-o", str(out))
    assert r.code == 4
    assert "add --overwrite" in r.err
    assert out.read_text() == "keep me"
    assert logged_rows(project) == []


def test_overwrite_replaces(batch: Batch, project: Path) -> None:
    src = write_parquet(project / "in.parquet", router_rows(10))
    out = project / "out.parquet"
    out.write_text("old")
    r = batch("router", "-i", str(src), "-o", str(out), "--overwrite", "--workers", "1")
    assert r.code == 0, r.err
    assert r.json()["scored"] == 10


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("router@9", "router@9 does not exist (versions 1 to 1)"),
        ("router@canary", "router@canary does not exist: router has no alias 'canary'"),
        ("nope", "nope"),
    ],
)
def test_unknown_version(batch: Batch, project: Path, ref: str, message: str) -> None:
    src = write_parquet(project / "in.parquet", router_rows(10))
    out = project / "out.parquet"
    r = batch(ref, "-i", str(src), "-o", str(out))
    assert r.code == 4
    assert message in r.err
    _nothing_left(project, out)


def test_unknown_formats_are_usage_errors(batch: Batch, project: Path) -> None:
    src = write_parquet(project / "in.parquet", router_rows(10))
    r = batch("router", "-i", str(src), "-o", str(project / "out.xlsx"))
    assert r.code == 2
    assert "name the output .parquet, .csv or .jsonl" in r.err


def test_resume_without_a_run(batch: Batch, project: Path) -> None:
    src = write_parquet(project / "in.parquet", router_rows(10))
    r = batch("router", "-i", str(src), "-o", str(project / "out.parquet"), "--resume")
    assert r.code == 4
    assert "no unfinished run" in r.err


def test_no_log_is_recorded_in_the_audit(batch: Batch, project: Path) -> None:
    src = write_parquet(project / "in.parquet", router_rows(30))
    r = batch(
        "router", "-i", str(src), "-o", str(project / "o.jsonl"), "--no-log", "--workers", "1"
    )
    assert r.code == 0, r.err
    assert logged_rows(project) == []
    store = open_store(project_dir=project)
    try:
        events = store.audit.events(object_type="batch_run")[::-1]  # oldest first
    finally:
        store.close()
    assert [e.action for e in events] == ["batch.started", "batch.finished"]
    assert events[0].data["log"] is False
    assert events[1].data["scored"] == 30


def test_jsonl_lines_that_are_not_objects(batch: Batch, project: Path) -> None:
    src = project / "in.jsonl"
    src.write_text(
        '{"id": 1, "text": "refund please"}\n[1, 2]\n{"text": \n{"id": 4, "text": "app crashes"}\n'
    )
    r = batch("router", "-i", str(src), "-o", str(project / "o.csv"), "--workers", "1")
    assert r.code == 0, r.err
    summary = r.json()
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (4, 2, 2)
    reasons = Path(summary["rejects"]).read_text()
    assert "not a JSON object, got list" in reasons
    assert "not valid JSON" in reasons
