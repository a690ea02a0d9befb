"""schemathesis against a live gateway's /openapi.json: no request it generates gets a 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.server.conftest import Server

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_server_error(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve()
    st = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    tail = "\n".join(result.stdout.splitlines()[-40:])
    print(tail)
    assert result.returncode == 0, tail + result.stderr[-2000:]
