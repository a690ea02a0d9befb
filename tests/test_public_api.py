"""The public API is pinned: removing or renaming a name is a visible decision."""

from __future__ import annotations

import subprocess
import sys

import pytest

import liveops

pytestmark = pytest.mark.smoke

EXPECTED = [
    "BatchOutput", "Client", "DatasetRecord", "DecisionSettings", "LiveopsError", "Model",
    "Prediction", "Project",
    "ServiceSpec", "Store", "VersionRecord", "__version__", "add_dataset", "apply_project",
    "decide", "diff_versions", "find_sensitive", "list_versions", "load_model", "load_project",
    "load_records", "open_store", "parse_project", "redact", "register_version",
    "resolve_dataset", "resolve_version", "set_alias",
]  # fmt: skip


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert liveops.__all__ == EXPECTED
    for name in liveops.__all__:
        assert getattr(liveops, name) is not None, name


def test_import_is_light() -> None:
    """`import liveops` loads none of the heavy packages (they load on first use)."""
    code = (
        "import sys, liveops; heavy = {'sqlalchemy', 'sklearn', 'pandas', 'numpy', 'typer',"
        " 'rich', 'pydantic', 'scipy', 'httpx', 'tenacity'};"
        " print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
