"""One contract, every engine: what ``liveops batch`` writes and logs does not depend on where
the chunks were scored (the driver alone, worker processes, Ray Data)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.services.batch.conftest import ENGINES, Batch, logged_rows, read_output
from tests.services.batch.project import cancer_rows, router_rows, write_parquet

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("engine", ENGINES)
def test_text_service_parquet(engine: tuple[str, str], batch: Batch, project: Path) -> None:
    """2,500 rows in chunks of 400 (row groups of 1,000, so chunks straddle them): one output
    row per input row, in order, beside the id, each logged once with source batch."""
    name, workers = engine
    src = write_parquet(project / "in.parquet", router_rows(2500))
    out = project / "out.parquet"
    r = batch("router", "-i", str(src), "-o", str(out), "--chunk-rows", "400",
              "--engine", name, "--workers", workers)  # fmt: skip
    assert r.code == 0, r.err
    summary = r.json()
    assert (summary["rows"], summary["scored"], summary["chunks"]) == (2500, 2500, 7)
    table = read_output(out)
    assert table.column("id").to_pylist() == [f"t{i}" for i in range(2500)]
    assert table.column("row").to_pylist() == list(range(2500))
    logged = logged_rows(project)
    assert [x["prediction_id"] for x in logged] == table.column("prediction_id").to_pylist()
    assert {(x["source"], x["arm"]) for x in logged} == {("batch", "batch")}
    # The row with a card number is held for review, and logged redacted.
    held = [x for x in logged if "[CARD]" in x["inputs"]["text"]]
    assert held
    assert {x["decision"] for x in held} == {"human_review"}


def _engine_output(batch: Batch, project: Path, engine: tuple[str, str], tag: str) -> pa.Table:
    src = project / "cancer.parquet"
    out = project / f"cancer-{tag}.parquet"
    r = batch("cancer@1", "-i", str(src), "-o", str(out), "--chunk-rows", "300",
              "--engine", engine[0], "--workers", engine[1], "--no-log")  # fmt: skip
    assert r.code == 0, r.err
    return read_output(out).drop_columns(["prediction_id"])  # the run id differs per run


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_engines_give_identical_outputs(
    engine: tuple[str, str], batch: Batch, project: Path
) -> None:
    """The tabular service scored by the driver alone and by the engine: identical tables."""
    write_parquet(project / "cancer.parquet", cancer_rows(1500), row_group=700)
    alone = _engine_output(batch, project, ("local", "1"), "alone")
    other = _engine_output(batch, project, engine, "other")
    assert alone.num_rows == 1500
    assert other.equals(alone)
    assert logged_rows(project) == []  # --no-log: nothing in the log


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_with_bad_rows(engine: tuple[str, str], batch: Batch, project: Path) -> None:
    """A malformed row in the middle of a CSV and values the inputs refuse: those rows go to
    the rejects file with the reason, every other row is scored."""
    lines = ["id,mean_radius,mean_texture,clinic"]
    for i, row in enumerate(cancer_rows(60)):
        lines.append(f"{i},{row['mean_radius']},{row['mean_texture']},{row['clinic']}")
    lines[20] = "19,12.5,oops,north"  # not a number
    lines[30] = "29,12.5,14.0,north,extra,cells"  # malformed: too many cells
    lines[40] = "39,-3,14.0,east"  # below min and not an allowed clinic
    src = project / "in.csv"
    src.write_text("\n".join(lines) + "\n")
    out = project / "out.csv"
    r = batch("cancer", "-i", str(src), "-o", str(out), "--chunk-rows", "16",
              "--engine", engine[0], "--workers", engine[1])  # fmt: skip
    assert r.code == 0, r.err
    summary = r.json()
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (60, 57, 3)
    table = read_output(out)
    assert 19 not in table.column("id").to_pylist()
    assert 39 not in table.column("id").to_pylist()
    rejects = Path(summary["rejects"]).read_text().splitlines()
    assert len(rejects) == 3
    text = "\n".join(rejects)
    assert "line 31" in text or '"line":31' in text
    assert "mean_texture: must be a number, got 'oops'" in text
    assert "clinic: must be one of north, south, got 'east'" in text
    assert len(logged_rows(project)) == 57
