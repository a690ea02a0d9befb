"""The README's examples run: its YAML is a valid project and its Python block works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_readme_serve_block_works_as_printed_with_keys(tmp_path: Path) -> None:
    """The README's serve block, run by bash against a project with a support-router (its
    model an entry point), on a free port: the curl line needs the key it creates."""
    import os
    import subprocess
    import sys

    from tests.server.conftest import PROJECT_YAML, free_port, make_project

    (block,) = [b for b in _blocks("bash") if "liveops serve" in b]
    folder = tmp_path / "demo"
    make_project(folder)
    yaml = PROJECT_YAML.replace("name: router", "name: support-router")
    (folder / "liveops.yaml").write_text(yaml)
    from liveops.core.project import parse_project
    from liveops.services.registry import apply_project, register_version, set_alias
    from liveops.store import open_store

    store = open_store(project_dir=folder)
    apply_project(store, parse_project(yaml), actor="t")
    register_version(store, "support-router", actor="t", entrypoint="tests.server.models:v1")
    set_alias(store, "support-router", "production", "1", actor="t")
    store.close()
    port = str(free_port())
    liveops = str(Path(sys.executable).parent / "liveops")
    script = block.replace("../.venv/bin/liveops", liveops).replace("8000", port)
    script = "set -e\n" + script + "\nkill %1; wait\n"
    env = {**os.environ, "PYTHONPATH": str(README.parent), "LIVEOPS_USER": "reader"}
    env.pop("LIVEOPS_DATABASE_URL", None)
    out = subprocess.run(
        ["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert '"label":"billing"' in out.stdout, out.stdout + out.stderr
    assert "automatic" in out.stdout  # the predictions tail shows the logged answer
