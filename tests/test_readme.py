"""The README's examples run: its YAML is a valid project and its Python block works."""

from __future__ import annotations

import re
from pathlib import Path

from tests.services.conftest import train_tiny

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), re.S)


def test_readme_opens_with_the_two_setup_commands() -> None:
    first = _blocks("bash")[0]
    assert "make demo" in first
    assert "make test" in first


def test_readme_python_example_runs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (project_yaml,) = _blocks("yaml")
    (code,) = _blocks("python")
    scope = {
        "tmp": str(tmp_path),
        "PROJECT_YAML": project_yaml,
        "model_path": train_tiny(tmp_path / "model.skops"),
    }
    exec(compile(code, str(README), "exec"), scope)
    assert capsys.readouterr().out.strip() == "['billing']"
