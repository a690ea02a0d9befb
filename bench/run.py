"""Run a benchmark: ``python bench/run.py NAME [options]``; without NAME, run every one.

A benchmark is a folder ``bench/NAME/`` with either a ``__main__`` module (run as the package
``bench.NAME``) or a ``run.py`` script (run in its own process); its options follow its name
(``python bench/run.py serving --help``). A few scripts are named here instead
(``SCRIPTS``: ``rollout-load`` is ``bench/rollout/load.py``). Results go to ``bench/results/``.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Benchmarks that are a script beside another one's run.py: name -> path under bench/.
SCRIPTS = {"rollout-load": "rollout/load.py"}


def available() -> list[str]:
    found = {p.parent.name for p in ROOT.glob("*/__main__.py")}
    found |= {p.parent.name for p in ROOT.glob("*/run.py")}
    found |= set(SCRIPTS)
    return sorted(found)


def main(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in ("-h", "--help", "--list"):
        print(__doc__)
        print("benchmarks:", ", ".join(names) or "(none)")
        return 0
    if not argv:
        return max((run(name, []) for name in names), default=0)
    if argv[0] not in names:
        print(f"unknown benchmark {argv[0]!r}; choose one of: {', '.join(names)}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


def run(name: str, args: list[str]) -> int:
    """Run benchmark ``name`` with ``args``; its exit code."""
    print(f"== bench {name}", file=sys.stderr, flush=True)
    script = ROOT / SCRIPTS[name] if name in SCRIPTS else ROOT / name / "run.py"
    if name in SCRIPTS or not (ROOT / name / "__main__.py").is_file():
        return subprocess.call([sys.executable, str(script), *args])
    if str(ROOT.parent) not in sys.path:
        sys.path.insert(0, str(ROOT.parent))  # so that `bench.NAME` imports from the repository
    sys.argv = [f"bench/run.py {name}", *args]
    try:
        runpy.run_module(f"bench.{name}", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
