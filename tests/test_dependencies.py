"""Dependencies: ranges in pyproject.toml, each one used, exact pins in the lock files."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _requirements(section: list[str]) -> list[Requirement]:
    return [Requirement(line) for line in section]


def _pins(lock: str) -> dict[str, Version]:
    pins = {}
    for line in (REPO / lock).read_text().splitlines():
        m = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line)
        if m:
            pins[canonicalize_name(m[1])] = Version(m[2])
    return pins


def test_runtime_dependencies_are_ranges_with_a_floor() -> None:
    for req in _requirements(PROJECT["dependencies"]):
        ops = {s.operator for s in req.specifier}
        assert ">=" in ops, f"{req}: a range with a floor, not a pin"
        assert "==" not in ops, f"{req}: a range with a floor, not a pin"


def test_the_postgresql_driver_is_an_extra_not_a_runtime_dependency() -> None:
    runtime = {canonicalize_name(r.name) for r in _requirements(PROJECT["dependencies"])}
    postgres = _requirements(PROJECT["optional-dependencies"]["postgres"])
    extra = {canonicalize_name(r.name) for r in postgres}
    assert "psycopg" not in runtime
    assert extra == {"psycopg"}


def test_every_runtime_dependency_is_imported_by_liveops() -> None:
    modules: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules.setdefault(canonicalize_name(dist), set()).add(module)
    source = "\n".join(p.read_text() for p in (REPO / "src" / "liveops").rglob("*.py"))
    unused = []
    for req in _requirements(PROJECT["dependencies"]):
        names = modules.get(canonicalize_name(req.name), set())
        pattern = rf"^\s*(import|from) ({'|'.join(map(re.escape, names))})\b"
        if not names or not re.search(pattern, source, re.MULTILINE):
            unused.append(req.name)
    assert unused == []


def test_the_lock_files_pin_every_dependency_inside_its_range() -> None:
    """A stale lock (a range changed, the lock not regenerated) fails here, not on a user."""
    optional = PROJECT["optional-dependencies"]
    for lock, sections in (
        ("requirements.lock", [PROJECT["dependencies"]]),
        ("requirements-dev.lock", [PROJECT["dependencies"], optional["postgres"], optional["dev"]]),
    ):
        pins = _pins(lock)
        for section in sections:
            for req in _requirements(section):
                name = canonicalize_name(req.name)
                assert name in pins, f"{lock} lacks {req.name}: run `make lock`"
                assert pins[name] in req.specifier, f"{lock}: {name}=={pins[name]} not in {req}"
    runtime = _pins("requirements.lock")
    dev = _pins("requirements-dev.lock")
    # `make demo` and `make test` run the same runtime versions.
    assert {n: dev[n] for n in runtime} == runtime
