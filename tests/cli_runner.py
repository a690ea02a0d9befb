"""Run the real ``liveops`` entry point in-process and capture what a user would see.

The ``run_cli`` fixture is registered in tests/conftest.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Result]


def make_runner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Runner:
    from liveops.cli.main import run

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("LIVEOPS_USER", "tester")
    monkeypatch.delenv("LIVEOPS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["liveops", *args])
        capsys.readouterr()
        code = 0
        try:
            run()
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
