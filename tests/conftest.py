"""Shared fixtures: every store contract test runs on each backend.

Backends: SQLite in memory, SQLite on file, and PostgreSQL at 127.0.0.1:5432 (database
``test``; override with ``LIVEOPS_TEST_POSTGRES_URL``). Each PostgreSQL test gets a schema of
its own, dropped afterwards, so runs never see each other's tables. Without a server those
tests skip and say why; with ``LIVEOPS_REQUIRE_POSTGRES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveops.store import Store, migrate, open_store
from tests import fast_schema
from tests.cli_runner import Runner, make_runner

PG_URL = os.environ.get("LIVEOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite-memory", "sqlite-file", "postgres"]
_pg_problem: str | bool | None = False  # False: not checked yet


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    global _pg_problem
    if _pg_problem is False:
        try:
            import psycopg

            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_problem = None
        except Exception as exc:
            _pg_problem = f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip()[:200]}"
    return _pg_problem or None


def require_postgres() -> None:
    problem = postgres_problem()
    if problem:
        if os.environ.get("LIVEOPS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"LIVEOPS_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(problem)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"lo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


_replaying_upgrade = fast_schema.replaying(migrate.upgrade)


@pytest.fixture(autouse=True)
def _replayed_migrations(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh databases opened in this process get the migrated schema replayed (see
    :mod:`tests.fast_schema`), except in tests marked ``real_migrations``."""
    if request.node.get_closest_marker("real_migrations") is None:
        monkeypatch.setattr(migrate, "upgrade", _replaying_upgrade)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite-memory":
        return "sqlite://"
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'liveops.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture(params=["sqlite-file", "postgres"])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database another process can open too (a gateway, a log writer, a killed child)."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'liveops.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    s = open_store(db_url, artifacts_root=tmp_path / "artifacts", project_dir=tmp_path)
    try:
        yield s
    finally:
        s.close()


# --- counts per backend in the summary (CI's log shows that PostgreSQL really ran) -----------

_counts: Counter[tuple[str, str]] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for backend in BACKENDS:
            if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid:
                _counts[(backend, report.outcome)] += 1
                break
        else:
            if "postgres" in report.keywords:
                _counts[("postgres", report.outcome)] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _counts:
        return
    terminalreporter.section("tests per backend")
    for backend in BACKENDS:
        parts = [f"{n} {o}" for (b, o), n in sorted(_counts.items()) if b == backend]
        terminalreporter.write_line(f"{backend}: {', '.join(parts) or 'none'}")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (each part keeps its order): under ``pytest -n 2`` the
    longest tests start while there is other work to balance them, instead of leaving one
    worker running them alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _starts_ray(item: pytest.Item | None) -> bool:
    return item is not None and any(m.args == ("ray",) for m in item.iter_markers("xdist_group"))


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the last test of the ``ray`` group, stop the Ray it started: its daemons would
    otherwise take CPU from every later test of the process."""
    if _starts_ray(item) and not _starts_ray(nextitem):
        import sys

        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Runner:
    return make_runner(capsys, monkeypatch, tmp_path)
