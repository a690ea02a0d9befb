"""Lineage captured at registration: where a version came from, without asking the user."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["KEY_PACKAGES", "capture", "git_state", "packages"]

# The packages whose versions change what a model does; the full list is kept as well.
KEY_PACKAGES = ("liveops", "scikit-learn", "numpy", "scipy", "skops", "joblib", "pandas")


def git_state(cwd: Path) -> dict[str, Any]:
    """The commit and dirty flag of the git work tree at ``cwd`` (empty outside one)."""

    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = run("rev-parse", "HEAD")
    if not commit:
        return {}
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def packages() -> dict[str, str]:
    """Every installed distribution and its version (the environment's lock, as installed)."""
    out: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out[name.lower()] = dist.version
    return dict(sorted(out.items()))


def capture(cwd: Path) -> dict[str, Any]:
    pkgs = packages()
    return {
        "git": git_state(cwd),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "key_packages": {p: pkgs[p] for p in KEY_PACKAGES if p in pkgs},
        "packages": pkgs,
    }
