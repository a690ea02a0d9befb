"""The monitor in the background: ``liveops serve --monitor-every 60s`` runs :func:`run_monitor`
(with retention) in a thread of the serving process, every so often.

Several gateways may each run one: the pass's lease lets one work at a time and the others
skip that turn. A failed pass (the database away) is logged and tried again next turn.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

from liveops.core.clock import Clock, SystemClock
from liveops.errors import UsageError
from liveops.services.drift.live import References
from liveops.services.monitoring.run import MonitorReport, default_owner, run_monitor
from liveops.store import Store

__all__ = ["MonitorRunner", "parse_every"]

log = logging.getLogger(__name__)
_EVERY = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_every(text: str, flag: str = "--monitor-every") -> float:
    """Seconds from ``60s``, ``5m``, ``1h``, ``500ms`` or a bare number of seconds.

    >>> parse_every("60s"), parse_every("5m"), parse_every("90")
    (60.0, 300.0, 90.0)
    """
    m = _EVERY.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise UsageError(
            f"{flag} {text!r} is not a positive duration",
            hint=f"e.g. {flag} 60s (or 5m, 1h)",
        )
    return float(m.group(1)) * _UNIT_S[m.group(2) or "s"]


class MonitorRunner:
    """Runs the monitor every ``every_s`` seconds in a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        every_s: float,
        *,
        project_dir: Path | None = None,
        clock: Clock | None = None,
        on_report: Callable[[MonitorReport], None] | None = None,
    ) -> None:
        self._open_store = open_store
        self.every_s = every_s
        self.project_dir = project_dir
        self.clock = clock or SystemClock()
        self.owner = default_owner()
        self.on_report = on_report
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._references = References()  # drift references: each read once per process

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="liveops-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> MonitorReport | None:
        """One turn: a pass with retention; None when it failed (logged)."""
        try:
            store = self._open_store()
        except Exception:
            log.exception("monitor: cannot open the store; trying again next turn")
            return None
        try:
            report = run_monitor(
                store,
                self.project_dir,
                clock=self.clock,
                owner=self.owner,
                retention=True,
                references=self._references,
            )
        except Exception:
            log.exception("monitor pass failed; trying again next turn")
            return None
        finally:
            store.close()
        if self.on_report is not None:
            self.on_report(report)
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.every_s)
