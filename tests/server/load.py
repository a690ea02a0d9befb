"""A small closed-loop load generator for the gateway tests: N threads, each one connection."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Outcome:
    t: float  # monotonic time the answer arrived
    status: int
    body: Any


@dataclass
class Load:
    url: str
    body: dict[str, Any]
    connections: int = 4
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(self.connections):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    r = client.post(self.url, json=self.body)
                    body = (
                        r.json() if r.headers.get("content-type") == "application/json" else r.text
                    )
                    self.outcomes.append(Outcome(time.monotonic(), r.status_code, body))
                except (httpx.HTTPError, ValueError) as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def since(self, t: float) -> list[Outcome]:
        return [o for o in list(self.outcomes) if o.t >= t]
