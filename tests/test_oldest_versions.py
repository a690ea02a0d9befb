"""The ranges in pyproject.toml are true: liveops works with the *oldest* versions it allows.

The wheel is built, installed into a clean venv with every runtime dependency at its floor (uv's
``--resolution lowest-direct``; transitive packages at their newest, as a user would get them),
and the tests marked ``smoke`` run there with that venv's python against the installed wheel.
If an old release breaks liveops, this fails: raise that floor. docs/development.md explains.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.services.conftest import PROJECT_YAML

REPO = Path(__file__).resolve().parents[1]
# Test-only packages the smoke tests need in the old venv, at the dev lock's versions.
TEST_TOOLS = ("pytest", "pytest-timeout", "httpx")

# One worker builds the venv once for the whole module. The first run on a machine downloads the
# old releases (uv caches them; later runs take about a minute): hence the longer timeout.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("oldest-versions"),
    pytest.mark.timeout(900),
]


def _clean_env() -> dict[str, str]:
    """This process's environment less what would point the old venv back at this one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.pop("LIVEOPS_DATABASE_URL", None)
    return env


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(args, capture_output=True, text=True, env=_clean_env(), cwd=cwd)
    assert out.returncode == 0, f"{' '.join(args)}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is missing: it comes with requirements-dev.lock (make test installs it)"
    return uv


def _floors() -> dict[str, Version]:
    """Each runtime dependency's floor, the ``>=`` of its range in pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    floors: dict[str, Version] = {}
    for line in project["dependencies"]:
        req = Requirement(line)
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert lows, f"{line}: a range needs a floor (>=)"
        floors[_canonical(req.name)] = Version(lows[0])
    return floors


def _optional(extra: str) -> list[str]:
    deps: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ][extra]
    return deps


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line)
        if m:
            pins[_canonical(m[1])] = f"{m[1]}=={m[2]}"
    return pins


def _test_tools(oldest: Path) -> list[str]:
    """The test tools at the dev lock's versions, less those the old resolution already has
    (httpx may come with a runtime dependency; that version stays)."""
    locked, resolved = _pins(REPO / "requirements-dev.lock"), _pins(oldest)
    return [locked[_canonical(n)] for n in TEST_TOOLS if _canonical(n) not in resolved]


@pytest.fixture(scope="module")
def oldest_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean venv with the wheel, its dependencies at their floors, and the test tools."""
    uv, tmp = _uv(), tmp_path_factory.mktemp("oldest")
    _run([uv, "build", "--wheel", "--out-dir", str(tmp / "dist"), str(REPO)])
    (wheel,) = (tmp / "dist").glob("liveops-*.whl")
    # lowest-direct: pyproject's dependencies at their floors, what they need at its newest.
    oldest = tmp / "oldest.txt"
    _run(
        [uv, "pip", "compile", str(REPO / "pyproject.toml"), "--resolution", "lowest-direct",
         "--python", sys.executable, "--quiet", "-o", str(oldest)],
    )  # fmt: skip
    venv = tmp / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    pip = [uv, "pip", "install", "--quiet", "--python", str(python)]
    _run([*pip, "-r", str(oldest), *_test_tools(oldest)])
    _run([*pip, "--no-deps", str(wheel)])
    return venv


def test_the_oldest_allowed_versions_are_installed(oldest_venv: Path) -> None:
    code = (
        "import json, importlib.metadata as m, sys; "
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    floors = _floors()
    out = _run([str(oldest_venv / "bin" / "python"), "-c", code, *floors])
    installed = {k: Version(v) for k, v in json.loads(out.stdout).items()}
    assert installed == floors


def test_smoke_tests_pass_on_the_oldest_allowed_versions(oldest_venv: Path) -> None:
    files = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "tests").rglob("test_*.py")
        if re.search(
            r"^(@pytest\.mark\.smoke|pytestmark = pytest\.mark\.smoke)", p.read_text(), re.M
        )
    )
    assert len(files) >= 3, files
    out = subprocess.run(
        [str(oldest_venv / "bin" / "python"), "-m", "pytest", "-m", "smoke", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=-ra --strict-markers", *files],
        cwd=REPO, env=_clean_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    # The wheel answered, not the source tree: every smoke test ran, none was skipped.
    assert re.search(r"\d+ passed", out.stdout), out.stdout
    assert " skipped" not in out.stdout, out.stdout


def test_a_postgresql_url_without_the_driver_says_how_to_install_it(
    oldest_venv: Path, tmp_path: Path
) -> None:
    """The venv has no `postgres` extra: psycopg is really missing there."""
    (tmp_path / "liveops.yaml").write_text("services: []\n")
    env = {**_clean_env(), "LIVEOPS_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    out = subprocess.run(
        [str(oldest_venv / "bin" / "liveops"), "service", "apply"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 4, out.stdout + out.stderr
    assert "psycopg" in out.stderr
    assert "pip install 'liveops[postgres]'" in out.stderr
    # Only the message and its hint: no traceback, no warning from an old dependency.
    assert out.stderr.count("\n") == 2, out.stderr
    assert "Traceback" not in out.stderr, out.stderr


def test_the_postgres_extra_at_its_floor_runs_on_postgresql(
    oldest_venv: Path, pg_schema_url: str, tmp_path: Path
) -> None:
    """psycopg at the `postgres` extra's floor, added in a second venv that sees the first one's
    packages (a .pth file), so the driver-less venv above stays driver-less."""
    (req,) = (Requirement(r) for r in _optional("postgres"))
    (floor,) = (s.version for s in req.specifier if s.operator == ">=")
    venv = tmp_path / "venv-postgres"
    _run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)])
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (old_site,) = (oldest_venv / "lib").glob("python3*/site-packages")
    (site / "oldest.pth").write_text(f"{old_site}\n")
    python = venv / "bin" / "python"
    extras = ",".join(sorted(req.extras))
    _run(
        [_uv(), "pip", "install", "--quiet", "--python", str(python), f"psycopg[{extras}]=={floor}"]
    )
    (tmp_path / "liveops.yaml").write_text(PROJECT_YAML)
    cli = [str(python), "-c", "from liveops.cli.main import run; run()"]
    env = {**_clean_env(), "LIVEOPS_DATABASE_URL": pg_schema_url}
    for args in (["service", "apply", "--json"], ["audit", "verify"]):
        out = subprocess.run([*cli, *args], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
