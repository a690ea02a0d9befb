"""``liveops monitor run|status`` and ``liveops metrics show`` on a tabular service with a suite
whose slices filter on the logged inputs, as a user runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.monitoring.logrows import give, log_row, store_rows
from tests.services.tabular import tabular_yaml

SUITE = """cases: {dataset: tumours-eval, expected: diagnosis}
slices:
  - {name: large, where: {mean_radius: {ge: 15}}}
  - {name: north-large, where: {clinic: north, mean_radius: {ge: 15}}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    yaml = tabular_yaml().replace(
        "    model_inputs: [mean_radius, mean_texture, mean_area]\n",
        "    model_inputs: [mean_radius, mean_texture, mean_area]\n    suite: suite.yaml\n",
    )
    (tmp_path / "liveops.yaml").write_text(yaml)
    (tmp_path / "suite.yaml").write_text(SUITE)
    store = open_store(project_dir=tmp_path)
    apply_project(store, parse_project(yaml), actor="ann")
    start = datetime.fromtimestamp(
        (int(datetime.now(UTC).timestamp()) // 300 - 12) * 300, UTC
    )  # an hour ago, on a window boundary
    rows = []
    for i in range(40):
        radius = 10.0 + i / 2  # 30 rows at 15 or more (i >= 10)
        clinic = "north" if i % 2 else "south"
        rows.append(
            log_row(
                start + timedelta(minutes=i),
                version=1 + i % 2,
                label="malignant" if radius >= 15 else "benign",
                latency_ms=5.0 + i,
                clinic=clinic,
                inputs={"mean_radius": radius, "mean_texture": 1.0, "clinic": clinic},
            )
        )
    store_rows(store, rows)
    for r in rows[::2]:
        give(store, r["prediction_id"], start + timedelta(minutes=50), label="benign")
    store.close()
    return tmp_path


def test_monitor_run_then_status_then_metrics_by_slice(run_cli: Runner, project: Path) -> None:
    res = run_cli("monitor", "run", "tumours", "--json")
    assert res.code == 0, res.err
    report = res.json()["services"][0]
    assert report["rows_read"] == 40
    assert {"large", "north-large", "clinic=north", "clinic=other"} <= set(report["slices"])
    status = run_cli("monitor", "status", "--json").json()["services"][0]
    assert status["service"] == "tumours"
    assert status["unread_rows"] == 0
    assert status["lag_s"] == 0.0

    shown = run_cli(
        "metrics",
        "show",
        "tumours",
        "--by",
        "slice",
        "--metric",
        "volume",
        "--since",
        "3h",
        "--json",
    )
    assert shown.code == 0, shown.err
    totals = {r["key"]: r["total"] for r in shown.json()["rows"]}
    assert totals["all"] == 40
    assert totals["large"] == 30  # radius 15 to 29.5
    assert totals["north-large"] == 15  # odd i from 11
    assert totals["clinic=south"] == 20

    acc = run_cli("metrics", "show", "tumours", "--metric", "accuracy", "--since", "3h", "--json")
    rows = {r["key"]: r for r in acc.json()["rows"]}
    # labelled: the 20 even rows (version 1), all "benign"; only i < 10 was answered benign
    assert rows["v1"]["total"] == pytest.approx(5 / 20)
    assert rows["v2"]["total"] is None  # no labels for version 2 yet


def test_metrics_show_draws_a_table_with_a_sparkline(run_cli: Runner, project: Path) -> None:
    run_cli("monitor", "run")
    res = run_cli("metrics", "show", "tumours", "--window", "5m", "--since", "2h")
    assert res.code == 0, res.err
    assert "latency.p95_ms" in res.out
    assert any(ch in res.out for ch in "▁▂▃▄▅▆▇█")
    assert "v1" in res.out
    assert "v2" in res.out


def test_an_unknown_metric_is_refused_with_the_valid_names(run_cli: Runner, project: Path) -> None:
    res = run_cli("metrics", "show", "tumours", "--metric", "acuracy")
    assert res.code == 2
    assert "did you mean 'accuracy'" in res.err
    assert "latency.p95_ms" in res.err
    not_kept = run_cli("metrics", "show", "tumours", "--metric", "log_loss", "--json")
    assert not_kept.code == 2
    assert "not kept in the monitor's windows" in not_kept.json()["message"]
    # missing.COLUMN is kept, by the drift pass (tests/cli/test_drift_live_cli.py)
    assert "missing.COLUMN" in not_kept.json()["hint"]


def test_bad_since_and_window_are_usage_errors(run_cli: Runner, project: Path) -> None:
    assert run_cli("metrics", "show", "tumours", "--since", "yesterday").code == 2
    assert run_cli("metrics", "show", "tumours", "--window", "2h").code == 2
    unknown = run_cli("metrics", "show", "nosuch")
    assert unknown.code == 4
    assert "tumours" in unknown.err


def test_a_second_run_reads_only_what_is_new(run_cli: Runner, project: Path) -> None:
    run_cli("monitor", "run")
    again = run_cli("monitor", "run", "--json").json()
    tumours = next(s for s in again["services"] if s["service"] == "tumours")
    assert tumours["full"] is False
    assert tumours["rows_read"] < 40  # only the overlap
    shown = run_cli("metrics", "show", "tumours", "--metric", "volume", "--since", "3h", "--json")
    assert sum(r["total"] for r in shown.json()["rows"]) == 40
