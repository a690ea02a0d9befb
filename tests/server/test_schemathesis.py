"""schemathesis against a live gateway's /openapi.json: no request it generates gets a 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
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

    def run(*select: str) -> None:
        result = subprocess.run(
            [
                str(st),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "not_a_server_error",
                # Per operation, in the fuzzing phase; the coverage phase still sends every
                # operation its schema's boundary and invalid values (40 took a minute).
                "--max-examples",
                "15",
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

    # Revoking a key (by id, prefix or name) can revoke the run's own key: every later request
    # got 401, then 429 from the guessing limit, and tested nothing. So that route comes last.
    run("--exclude-operation-id", "key_revoke")
    r = httpx.get(f"{server.url}/v1/keys", headers={"authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 200  # the key worked to the end
    run("--include-operation-id", "key_revoke")
