"""``liveops drift --service`` and ``liveops metrics show --metric drift.COLUMN`` as a user runs
them, on a SQLite file and on PostgreSQL: a tabular service whose last complete day shifted a
number and a category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.monitoring.driftrows import drift_yaml, log_day, setup_drift


@pytest.fixture
def project(
    run_cli: Runner, tmp_path: Path, durable_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The day before yesterday like the reference, yesterday shifted (``run_cli`` first: it
    clears LIVEOPS_DATABASE_URL, which this fixture then sets)."""
    monkeypatch.setenv("LIVEOPS_DATABASE_URL", durable_url)
    (tmp_path / "liveops.yaml").write_text(drift_yaml())
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if datetime.now(UTC) - today < timedelta(minutes=10):  # yesterday must be complete
        pytest.skip("too close to midnight UTC")
    store = open_store(durable_url, project_dir=tmp_path)
    try:
        setup_drift(store, tmp_path)
        log_day(store, today - timedelta(days=2), shifted=False, seed=1)
        log_day(store, today - timedelta(days=1), shifted=True, seed=2)
    finally:
        store.close()
    return tmp_path


def test_drift_on_live_traffic_names_the_shifted_columns(run_cli: Runner, project: Path) -> None:
    res = run_cli("drift", "--service", "tumours", "--json")
    assert res.code == 1, res.err
    data = res.json()
    assert set(data["drifted_columns"]) == {"mean_radius", "clinic"}
    assert data["current"]["rows"] == 600
    assert data["reference_dataset"] == "tumours-ref@1"
    assert data["window"] == "1d"
    # the same table as on files
    human = run_cli("drift", "--service", "tumours", "--version", "1")
    assert human.code == 1
    assert "mean_radius" in human.out
    assert "drifted" in human.out
    # a slice of the monitor's, and an html report
    html = project / "live.html"
    north = run_cli("drift", "--service", "tumours", "--slice", "clinic=north", "--html", str(html))
    assert north.code == 1
    assert html.exists()


def test_the_monitor_stores_daily_points_that_metrics_show_reads(
    run_cli: Runner, project: Path
) -> None:
    assert run_cli("monitor", "run", "--json").code == 0
    res = run_cli(
        "metrics", "show", "tumours", "--metric", "drift.mean_radius", "--metric",
        "drift.mean_texture", "--window", "1d", "--since", "3d", "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    rows = {(r["key"], r["metric"]): r["values"] for r in res.json()["rows"]}
    radius = [v for v in rows[("v1", "drift.mean_radius")] if v is not None]
    texture = [v for v in rows[("v1", "drift.mean_texture")] if v is not None]
    assert len(radius) == 2
    assert radius[0] < 0.1 < radius[1]  # day 2 shifted
    assert max(texture) < 0.1
    by_arm = run_cli("metrics", "show", "tumours", "--metric", "drift.mean_radius", "--by", "arm")
    assert by_arm.code == 2
    assert "per version and slice" in by_arm.err


def test_bad_input_is_refused_with_a_clear_message(run_cli: Runner, project: Path) -> None:
    unknown = run_cli("drift", "--service", "nosuch", "--json")
    assert unknown.code == 4
    assert "nosuch" in unknown.json()["message"]
    no_reference = run_cli("drift", "--service", "wines", "--json")
    assert no_reference.code == 4
    assert "no reference" in no_reference.json()["message"]
    assert "reference:" in no_reference.json()["hint"]
    quiet = run_cli("drift", "--service", "tumours", "--window", "5m", "--json")
    assert quiet.code == 4  # nothing logged in the last complete five minutes
    assert "logged 0 answers" in quiet.json()["message"]
    other_version = run_cli("drift", "--service", "tumours", "--version", "7", "--json")
    assert other_version.code == 4
    assert "tumours v7 logged 0 answers" in other_version.json()["message"]
    both = run_cli("drift", "a.csv", "b.csv", "--service", "tumours")
    assert both.code == 2
    neither = run_cli("drift")
    assert neither.code == 2
    assert "--service" in neither.err
    bad_window = run_cli("drift", "--service", "tumours", "--window", "7m")
    assert bad_window.code == 2
    assert "5-minute" in bad_window.err
    bad_slice = run_cli("drift", "--service", "tumours", "--slice", "east")
    assert bad_slice.code == 2
    assert "clinic=north" in bad_slice.err
