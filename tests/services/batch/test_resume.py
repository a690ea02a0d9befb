"""``kill -9`` half-way, then ``--resume``: the output equals an uninterrupted run's row for
row, and every answer is logged exactly once (SQLite file and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services.batch.conftest import logged_rows, read_output
from tests.services.batch.project import make_project, router_rows, write_parquet

pytestmark = pytest.mark.slow
LIVEOPS = Path(sys.executable).parent / "liveops"
REPO = Path(__file__).resolve().parents[3]


def _batch(project: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    # This checkout's code, not the installed one (another worktree's, when run in a worktree).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    env["LIVEOPS_USER"] = "tester"
    env["LIVEOPS_DATABASE_URL"] = url
    return subprocess.Popen(
        [str(LIVEOPS), "batch", "router", *args, "--chunk-rows", "250", "--json"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: kill -9 reaches the workers too
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_9_then_resume(durable_url: str, tmp_path: Path, workers: str) -> None:
    project = make_project(tmp_path / "proj", durable_url)
    write_parquet(project / "in.parquet", router_rows(6000), row_group=700)
    out = project / "out.parquet"
    work = project / "out.parquet.liveops-batch"
    proc = _batch(
        project, durable_url, "-i", "in.parquet", "-o", "out.parquet", "--workers", workers
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(work.glob("part-*.arrow"))) < 4:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(work.glob("part-*.arrow")))
    assert 4 <= finished < 24, "the run must be cut off half-way"
    assert not out.exists()

    again = _batch(project, durable_url, "-i", "in.parquet", "-o", "out.parquet", "--resume",
                   "--workers", workers)  # fmt: skip
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr.decode()
    summary = __import__("json").loads(stdout)
    assert summary["resumed_chunks"] >= 4
    assert (summary["rows"], summary["scored"]) == (6000, 6000)

    whole = _batch(project, durable_url, "-i", "in.parquet", "-o", "whole.parquet", "--no-log",
                   "--workers", "1")  # fmt: skip
    assert whole.wait(timeout=600) == 0
    resumed, reference = read_output(out), read_output(project / "whole.parquet")
    ids = resumed.column("prediction_id").to_pylist()
    assert resumed.drop_columns(["prediction_id"]).equals(reference.drop_columns(["prediction_id"]))
    # Ids are the run id and the row index: the same suffixes, one run prefix.
    assert [i[-8:] for i in ids] == [i[-8:] for i in reference.column("prediction_id").to_pylist()]
    assert len({i[:18] for i in ids}) == 1
    logged = [r["prediction_id"] for r in logged_rows(project, durable_url)]
    assert logged == ids  # every answer once: none missing, none twice, none of other runs
