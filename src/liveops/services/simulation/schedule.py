"""When a simulated day's answers and labels happen: the plan of phases, answer times that
follow a daily pattern, requests of batched instances, and label delays.

Everything here is a pure function of its arguments and a seeded generator, so a simulation
sends the same traffic at the same simulated times each time it runs with the same seed.

>>> plan = parse_phases("normal:5,covariate_shift:2")
>>> [(p.name, p.days) for p in plan], sum(p.days for p in plan)
([('normal', 5), ('covariate_shift', 2)], 7)
>>> rng = np.random.default_rng(0)
>>> times = answer_times(0.0, 1000, rng)
>>> bool(np.all(np.diff(times) >= 0)), bool(times.min() >= 0), bool(times.max() < 86400)
(True, True, True)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from liveops.errors import UsageError

__all__ = [
    "DAY_S",
    "HOURLY_SHAPE",
    "Phase",
    "answer_times",
    "batches",
    "label_delays",
    "parse_delay_range",
    "parse_duration",
    "parse_phases",
]

DAY_S = 86_400

# Relative traffic per hour of the day (UTC): quiet at night, a peak in the early afternoon,
# about seven times the 3 a.m. rate (a support desk's shape; the mean is 1).
HOURLY_SHAPE: tuple[float, ...] = tuple(
    1.0 + 0.75 * math.cos(2 * math.pi * (h + 0.5 - 14.0) / 24) for h in range(24)
)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Phase:
    """``days`` consecutive simulated days whose records come from ``name`` (a mode of the
    demo's generator, a file or a dataset: the caller's source decides)."""

    name: str
    days: int


def parse_phases(text: str, default_days: int | None = None) -> list[Phase]:
    """``NAME:DAYS,NAME:DAYS``; a single ``NAME`` without days takes ``default_days``.

    >>> parse_phases("shifted.jsonl", default_days=3)
    [Phase(name='shifted.jsonl', days=3)]
    >>> try:
    ...     parse_phases("normal:5,covariate_shift")
    ... except UsageError as exc:
    ...     print(exc.message)
    phase 'covariate_shift' does not say how many days it lasts
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError("no phase given", hint="e.g. normal:5,covariate_shift:2")
    out: list[Phase] = []
    for part in parts:
        name, sep, days = part.rpartition(":")
        if not sep or not days.isdigit():
            name, days_n = part, default_days if len(parts) == 1 else None
        else:
            days_n = int(days)
        if days_n is None:
            raise UsageError(
                f"phase {part!r} does not say how many days it lasts",
                hint="give every phase its days: NAME:DAYS, e.g. normal:5,covariate_shift:2",
            )
        if days_n < 1 or not name:
            raise UsageError(
                f"phase {part!r} needs a name and at least one day",
                hint="e.g. normal:5,covariate_shift:2",
            )
        out.append(Phase(name, days_n))
    return out


def parse_duration(text: str, what: str = "a duration") -> float:
    """Seconds from ``90``, ``30s``, ``5m``, ``6h`` or ``3d`` (positive).

    >>> parse_duration("6h"), parse_duration("1.5d"), parse_duration("45")
    (21600.0, 129600.0, 45.0)
    """
    m = _DURATION.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise UsageError(
            f"{what} {text!r} is not a positive duration", hint="e.g. 30s, 5m, 6h or 3d"
        )
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def parse_delay_range(text: str) -> tuple[float, float]:
    """``MIN-MAX`` (``1h-3d``) or one duration (every label that late), in seconds.

    >>> parse_delay_range("1h-3d")
    (3600.0, 259200.0)
    >>> try:
    ...     parse_delay_range("2d-1h")
    ... except UsageError as exc:
    ...     print(exc.message)
    --label-delay '2d-1h': the shortest delay is longer than the longest
    """
    lo_text, sep, hi_text = text.partition("-")
    lo = parse_duration(lo_text, "--label-delay")
    hi = parse_duration(hi_text, "--label-delay") if sep else lo
    if lo > hi:
        raise UsageError(
            f"--label-delay {text!r}: the shortest delay is longer than the longest",
            hint="give MIN-MAX, e.g. 1h-3d",
        )
    return lo, hi


def answer_times(
    day_start: float, n: int, rng: np.random.Generator, *, daily: bool = True
) -> np.ndarray:
    """``n`` sorted answer times (seconds since the epoch) within the day starting at
    ``day_start``: drawn from :data:`HOURLY_SHAPE` (``daily``) or uniform over the day."""
    if n <= 0:
        return np.empty(0)
    if daily:
        weights = np.asarray(HOURLY_SHAPE)
        hours = rng.choice(24, size=n, p=weights / weights.sum())
        offsets = (hours + rng.random(n)) * 3600.0
    else:
        offsets = rng.random(n) * DAY_S
    return np.sort(day_start + np.minimum(offsets, DAY_S - 1e-3))


def batches(n: int, size: int) -> list[tuple[int, int]]:
    """Consecutive index ranges ``[start, end)`` of at most ``size`` answers: one request each.

    >>> batches(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    if size < 1:
        raise UsageError(f"--batch {size} must be at least 1")
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def label_delays(n: int, rng: np.random.Generator, lo_s: float, hi_s: float) -> np.ndarray:
    """``n`` delays between ``lo_s`` and ``hi_s``, uniform on a log scale: as many labels
    arrive within the first hours as over the following days (a ticket closed at once, or
    reviewed days later)."""
    if lo_s == hi_s:
        return np.full(n, lo_s)
    return np.exp(rng.uniform(math.log(lo_s), math.log(hi_s), size=n))
