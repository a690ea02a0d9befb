"""Exit codes: the one rule that turns verdicts into a process's exit code (ARCHITECTURE 7).

Checked conditions (blocker and guardrail gates, readiness checks, ``audit verify``) report
verdicts as data; :func:`exit_code` is the only place that maps them to a code. Errors are
mapped by the CLI entry point (``liveops.cli.main.error_exit_code``): 2 for a usage error of
the command line, 4 for anything else.

>>> exit_code(["pass", "inconclusive", "fail"]), exit_code(["pass", "missing"]), exit_code([])
(1, 3, 0)
>>> exit_code(["skipped", "pass"]), exit_code(["error", "inconclusive"])
(0, 4)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["CHECK_FAILED", "ERROR", "INCONCLUSIVE", "OK", "USAGE", "exit_code"]

OK: Final = 0
CHECK_FAILED: Final = 1  # a blocker or guardrail failed, a readiness check failed, audit broken
USAGE: Final = 2  # the command line is wrong
INCONCLUSIVE: Final = 3  # nothing failed, but something counted is undecided or missing
ERROR: Final = 4  # anything else: missing file, unknown service, unreachable database, ...


def exit_code(verdicts: Iterable[str]) -> int:
    """The exit code of the verdicts that count (the caller leaves out goals and signals).

    ``fail`` wins (1); then ``error``, a check that could not be judged (4); then
    ``inconclusive`` or ``missing`` (3); ``pass`` and ``skipped`` give 0.
    """
    seen = set(verdicts)
    if "fail" in seen:
        return CHECK_FAILED
    if "error" in seen:
        return ERROR
    if seen & {"inconclusive", "missing"}:
        return INCONCLUSIVE
    return OK
