"""The serving benchmark's harness: wrk and post.lua against a real server, the log check,
the ratios against the issue's targets.

The end-to-end tests start the stand-in server (peer_starlette.py, micro-batching, a SQLite
log) on a small demo model and drive it with the real wrk; they skip where wrk is missing.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.serving import load, logcheck, prepare, report, servers
from bench.serving.load import LoadResult
from bench.serving.servers import STANDIN, TARGETS, Server, Workspace

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
# The tests that drive wrk run on one xdist worker (`pytest -n 2 --dist loadgroup`), one after
# another, so two load tests never share this machine's cores (tests/bench/test_rollout_load.py).
WRK_GROUP = pytest.mark.xdist_group("wrk")


def result(target: str, connections: int, rps: float, p99: float, errors: int = 0) -> LoadResult:
    return LoadResult(
        target, connections, 15.0, int(rps * 15), int(rps * 15), rps, 1.0, 2.0, p99, p99, errors
    )


def test_ratios_name_each_target_met_or_missed() -> None:
    results = [
        result("liveops", 8, 1500, 10),
        result("liveops", 32, 2000, 40),
        result("microbatch", 8, 1700, 8),
        result("microbatch", 32, 3000, 20),
        result("mlflow", 8, 200, 60),
        result("mlflow", 32, 190, 300),
        result("bentoml", 8, 500, 100),
    ]
    log = logcheck.check(5, list("abcde"), set(), set("abcde"), 8, 0.1, True)
    ratios, verdicts = report.verdicts(results, "liveops", log)
    by_name = {v.name: v for v in verdicts}
    assert ratios["rps_microbatch_8"] == 0.88
    assert by_name["req/s liveops/microbatch at 8"].met is True
    assert by_name["req/s liveops/microbatch at 32"].met is False  # 0.67 < 0.8
    assert by_name["req/s liveops/mlflow at 8"].met is True  # 7.5 >= 5
    assert by_name["req/s liveops/bentoml at 8"].met is True  # 3.0 >= 2.5
    assert by_name["req/s liveops/bentoml at 32"].met is None  # not measured: not a pass
    assert by_name["p99 liveops/microbatch at 32"].met is False  # 2.0 > 1.5
    assert by_name["errors (liveops, all levels)"].met is True
    assert by_name["log rows == answered"].met is True
    printed = report.verdict_lines(verdicts)
    assert "MISSED" in printed
    assert "not measured" in printed


def test_log_check_counts_missing_ids_and_bounds_extra_rows() -> None:
    before = {"old"}
    missing = logcheck.check(3, ["a", "b", "c"], before, before | {"a", "b"}, 8, 1.0, False)
    assert (missing.missing, missing.ok) == (1, False)
    too_many = logcheck.check(1, ["a"], set(), {"a", "x", "y", "z"}, 2, 1.0, True)
    assert (too_many.extra_rows, too_many.ok) == (3, False)


def test_scores_are_found_in_every_servers_answer_shape() -> None:
    classes = ["billing", "general"]
    liveops = {"predictions": [{"prediction_id": "X", "scores": {"general": 0.3, "billing": 0.7}}]}
    assert servers.scores_in(liveops, classes) == [0.7, 0.3]
    assert servers.scores_in([{"scores": {"billing": 0.1, "general": 0.9}}], classes) == [0.1, 0.9]
    assert servers.scores_in({"predictions": [[0.6, 0.4]]}, classes) == [0.6, 0.4]
    assert servers.scores_in({"label": "billing"}, classes) is None


def test_parse_summary_refuses_output_without_the_summary_line() -> None:
    with pytest.raises(RuntimeError, match="BENCH_JSON"):
        load.parse_summary("Running 1s test @ http://127.0.0.1:1/\n")


def test_the_dispatcher_lists_the_serving_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import run  # bench/run.py

    assert run.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "serving" in listed
    assert "rollout-load" in listed  # bench/rollout/load.py, named in run.SCRIPTS
    assert run.main(["no-such-benchmark"]) == 2


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace whose demo folder holds a small v1 (600 training messages)."""
    from liveops.demo.data import generate
    from liveops.demo.training import save_skops, train_v1

    root = tmp_path_factory.mktemp("bench")
    ws = Workspace(work=root, demo=root / "demo", venvs=root / "venvs", python=Path(sys.executable))
    ws.model.parent.mkdir(parents=True)
    save_skops(train_v1(generate(seed=0, n_train=600, n_eval=10).train, seed=0), ws.model)
    return ws


@pytest.fixture
def standin(workspace: Workspace) -> Iterator[Server]:
    if workspace.standin_log.exists():
        workspace.standin_log.unlink()
    server = servers.start(STANDIN, workspace)
    try:
        servers.wait_ready(server, timeout=60)
        yield server
    finally:
        servers.stop(server)
    assert server.process.poll() is not None
    assert servers.process_tree(server.process.pid) == []


@pytest.mark.slow
@needs_wrk
@WRK_GROUP
def test_every_answered_id_is_found_in_the_log(workspace: Workspace, standin: Server) -> None:
    records = prepare.request_records(200)
    bodies = prepare.write_bodies(workspace, "liveops", records)
    prefix = workspace.work / "ids-test"
    before = logcheck.id_reader(STANDIN, workspace)()
    measured = load.run_wrk(standin, bodies, 4, 1.0, prefix)
    assert measured.errors == 0
    assert measured.answered == measured.requests > 0
    assert measured.p50_ms <= measured.p99_ms
    assert measured.wrk_cpu_cores > 0
    assert measured.server_cpu_cores > 0
    ids = load.read_ids(prefix)
    assert len(ids) == len(set(ids)) == measured.answered
    after, _, drained = logcheck.wait_drained(logcheck.id_reader(STANDIN, workspace), ids)
    log = logcheck.check(measured.answered, ids, before, after, 4, 0.0, drained)
    assert log.missing == 0
    assert log.ok


@pytest.mark.slow
@needs_wrk
@WRK_GROUP
def test_rejected_requests_count_as_errors(workspace: Workspace, standin: Server) -> None:
    # BentoML-shaped bodies are not liveops-shaped: the stand-in answers 422 to each.
    bodies = prepare.write_bodies(workspace, "bentoml", prepare.request_records(20))
    measured = load.run_wrk(standin, bodies, 2, 1)
    assert measured.requests > 0
    assert measured.answered == 0
    assert measured.errors == measured.requests
    assert measured.error_detail == {"status": measured.requests}


def test_every_target_has_a_start_command(workspace: Workspace) -> None:
    for target in [*TARGETS.values(), STANDIN]:
        cmd, cwd, _ = servers.command(target, workspace, 8000)
        assert cmd, target.name
        assert "8000" in cmd, target.name
        assert cwd.is_absolute()


def test_rounds_combine_to_medians_and_summed_errors() -> None:
    from bench.serving.runner import combine

    windows = [
        result("liveops", 8, rps, p99, errors)
        for rps, p99, errors in [(1000, 10, 0), (1400, 30, 2), (1200, 20, 1)]
    ]
    combined = combine(windows)
    assert (combined.requests_per_s, combined.p99_ms, combined.errors) == (1200, 20, 3)
    assert combined.requests == sum(w.requests for w in windows)
