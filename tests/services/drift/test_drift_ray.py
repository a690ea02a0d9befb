"""Drift on Ray (``compare_ray``, ``liveops drift --engine ray``): the same report as local.

One local Ray for the module (two CPUs, as the batch tests'). The tables hold what each kind
of column needs: numbers with NaN, integers, a category with nulls and more values than the
top-k, booleans and a text column; the Ray side comes in several blocks, so the counts are
merged across blocks (in the values' first-appearance order, which the category test reads).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liveops.core.drift.categorical import TOP_K
from liveops.core.drift.check import check_drift
from liveops.errors import UsageError
from liveops.services.drift import compare, compare_ray
from liveops.services.drift.tables import parquet_table
from tests.cli_runner import Runner

HAS_RAY = importlib.util.find_spec("ray") is not None
NO_RAY = "ray is not installed: pip install 'liveops[ray]' (make test installs it)"
if not HAS_RAY and os.environ.get("LIVEOPS_REQUIRE_RAY") == "1":  # CI: the Ray tests must run
    raise RuntimeError(f"LIVEOPS_REQUIRE_RAY=1 but {NO_RAY}")
needs_ray = pytest.mark.skipif(not HAS_RAY, reason=NO_RAY)
# Every test that starts Ray on one xdist worker (with the batch engine's): Ray starts once.
RAY_GROUP = pytest.mark.xdist_group("ray")


def table(n: int, shift: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.1] = np.nan
    # A long tail of codes: more distinct values than the top-k, with ties in their counts.
    codes = [None if rng.random() < 0.05 else f"c{v % (TOP_K + 30)}" for v in rng.zipf(1.3, n)]
    words = ["refund", "late", "parcel", "broken", "thanks", "invoice"]
    texts = [
        None
        if i % 17 == 0
        else " ".join(rng.choice(words, int(rng.integers(1, 9))))
        + " about my order number "
        + str(i % 7 if shift == 0 else i % 11)
        for i in range(n)
    ]
    return pa.table(
        {
            "amount": pa.array(x, from_pandas=True),
            "items": rng.integers(0, 10 + int(shift * 10), n),
            "code": codes,
            "express": rng.random(n) < 0.3 + shift / 4,
            "message": texts,
        }
    )


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    if not HAS_RAY:
        pytest.skip(NO_RAY)
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ray-drift")
    ref, cur = folder / "ref.parquet", folder / "cur.parquet"
    pq.write_table(table(1200, 0.0, 1), ref)
    pq.write_table(table(900, 0.4, 2), cur)
    return ref, cur


def blocks(path: Path, ray: Any, sizes: int) -> Any:
    """The file as a Ray dataset of several blocks, in the file's order."""
    t = pq.ParquetFile(path).read()
    parts = [t.slice(i, sizes) for i in range(0, t.num_rows, sizes)]
    return ray.data.from_arrow(parts)


@needs_ray
@RAY_GROUP
def test_ray_report_equals_local(ray_local: Any, files: tuple[Path, Path]) -> None:
    ref_path, cur_path = files
    ref = parquet_table(ref_path, "reference", None)
    local = check_drift(ref, parquet_table(cur_path, "current", ref))
    on_ray = compare_ray(blocks(ref_path, ray_local, 250), blocks(cur_path, ray_local, 400))
    assert on_ray.to_dict() == local.to_dict()
    # The data exercise what the merge must get right: a category past the top-k, text, drift.
    by_name = {c.column: c for c in on_ray.drift.columns}
    assert {by_name[n].kind for n in by_name} == {"number", "category", "text"}
    assert "grouped to the top" in by_name["code"].note
    assert by_name["amount"].drifted
    assert on_ray.verdict == "fail"
    assert on_ray.current.columns["code"].missing > 0


@needs_ray
@RAY_GROUP
def test_cli_engine_ray_same_json_and_exit_code(
    ray_local: Any, files: tuple[Path, Path], run_cli: Runner
) -> None:
    ref, cur = (str(p) for p in files)
    local = run_cli("drift", ref, cur, "--json")
    on_ray = run_cli("drift", ref, cur, "--engine", "ray", "--json")
    assert (on_ray.code, on_ray.json()) == (local.code, local.json())
    assert local.code == 1  # the current data drifted


def test_engine_ray_refusals(tmp_path: Path, run_cli: Runner) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("x\n1\n2\n")
    res = run_cli("drift", str(csv), str(csv), "--engine", "ray", "--json")
    assert res.code == 2
    assert "--engine ray reads Parquet" in res.json()["message"]
    res = run_cli("drift", str(csv), str(csv), "--engine", "spark", "--json")
    assert res.code == 2
    assert "unknown engine 'spark'" in res.json()["message"]
    res = run_cli("drift", str(csv), str(csv), "--address", "ray://head:10001", "--json")
    assert res.code == 2
    assert "--engine ray only" in res.json()["message"]
    res = run_cli("drift", "--service", "s", "--engine", "ray", "--json")
    assert res.code == 2
    assert "not --service" in res.json()["message"]
    res = run_cli("drift", str(tmp_path / "no.parquet"), str(csv), "--engine", "ray", "--json")
    assert res.code == 4
    assert "does not exist" in res.json()["message"]


def test_engine_ray_without_ray_says_how_to_install(
    tmp_path: Path, run_cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0]}), path)
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra gives
    monkeypatch.setitem(sys.modules, "ray.data", None)
    res = run_cli("drift", str(path), str(path), "--engine", "ray", "--json")
    assert res.code == 2
    body = res.json()
    assert "needs Ray Data" in body["message"]
    assert "pip install 'liveops[ray]'" in body["hint"]
    with pytest.raises(UsageError, match="needs Ray Data"):
        compare(str(path), str(path), engine="ray")


@needs_ray
@RAY_GROUP
def test_engine_ray_unreadable_or_empty_parquet(
    ray_local: Any, files: tuple[Path, Path], run_cli: Runner, tmp_path: Path
) -> None:
    cur = str(files[1])
    bad = tmp_path / "bad.parquet"
    bad.write_text("a,b\n")
    zero = tmp_path / "zero.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64())}), zero)
    res = run_cli("drift", str(bad), cur, "--engine", "ray", "--json")
    assert res.code == 4
    assert "bad.parquet is not readable Parquet" in res.json()["message"]
    res = run_cli("drift", str(zero), cur, "--engine", "ray", "--json")
    assert res.code == 4
    assert res.json()["message"] == f"{zero} has no rows"
