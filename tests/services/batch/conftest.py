"""Fixtures of the batch tests: the project, and running ``liveops batch`` on it."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liveops.store import open_store
from tests.cli_runner import Result, Runner
from tests.services.batch.project import make_project

HAS_RAY = importlib.util.find_spec("ray") is not None
NO_RAY = "ray is not installed: pip install 'liveops[ray]' (make test installs it)"
if not HAS_RAY and os.environ.get("LIVEOPS_REQUIRE_RAY") == "1":  # CI: the Ray tests must run
    raise RuntimeError(f"LIVEOPS_REQUIRE_RAY=1 but {NO_RAY}")
# The engines every contract test runs on: the driver alone, worker processes, Ray Data.
ENGINES = [
    pytest.param(("local", "1"), id="local-1"),
    pytest.param(("local", "2"), id="local-2"),
    pytest.param(
        ("ray", "2"),
        id="ray",
        # One xdist worker runs every test that starts Ray (the drift ones too): Ray starts once.
        marks=[pytest.mark.skipif(not HAS_RAY, reason=NO_RAY), pytest.mark.xdist_group("ray")],
    ),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


Batch = Callable[..., Result]


@pytest.fixture
def batch(run_cli: Runner, project: Path) -> Batch:
    """``liveops batch ARGS --json`` in the project."""

    def _run(*args: str) -> Result:
        return run_cli("-C", str(project), "batch", *args, "--json")

    return _run


def read_output(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    import pyarrow.json as pajson

    return pajson.read_json(path)


def logged_rows(project: Path, url: str | None = None) -> list[dict[str, Any]]:
    """Every logged prediction (the columns the tests read), by id."""
    from sqlalchemy import select

    from liveops.store.prediction_tables import predictions as t

    store = open_store(url, project_dir=project)
    try:
        cols = [t.c.prediction_id, t.c.source, t.c.arm, t.c.decision, t.c.label, t.c.inputs]
        with store.engine.connect() as conn:
            rows = conn.execute(select(*cols).order_by(t.c.prediction_id)).mappings().all()
        return [dict(r) for r in rows]
    finally:
        store.close()
