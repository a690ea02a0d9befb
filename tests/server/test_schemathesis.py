"""schemathesis against a live gateway's /openapi.json: no request it generates gets a 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from liveops.services.access import create_key
from liveops.store import open_store
from tests.server.conftest import Server, make_project

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_server_error(serve: Callable[..., Server], tmp_path: Path) -> None:
    """The whole document (predict, feedback, the management API, the OIP routes) with an
    admin key, so every route is reached past its key check."""
    project = make_project(tmp_path / "proj")
    store = open_store(project_dir=project)
    key = create_key(store, "schemathesis", role="admin", owner="qa", actor="t").token
    store.close()
    server = serve(project=project, auth=True)
    st = Path(sys.executable).parent / "schemathesis"

    def run(*select: str) -> str:
        result = subprocess.run(
            [
                str(st),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--seed",
                "1",
                *select,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        tail = "\n".join(result.stdout.splitlines()[-40:])
        print(tail)
        assert result.returncode == 0, tail + result.stderr[-2000:]
        return result.stdout

    # Revoking a key (by id, prefix or name) can revoke the run's own key: every later request
    # would get 401, then 429 from the guessing limit, and test nothing. So that route last.
    out = run("--exclude-operation-id", "key_revoke")
    assert "Rate limited" not in out  # every route was reached past the key check
    run("--include-operation-id", "key_revoke")
