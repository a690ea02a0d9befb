"""Simulated traffic through a real gateway on one simulated clock: days of answers with a
daily pattern, labels arriving hours to days late, and the monitor on the same clock
(:func:`simulate`)."""

from __future__ import annotations

from liveops.services.simulation.engine import (
    DayReport,
    RecordSource,
    SimulationOptions,
    SimulationReport,
    simulate,
)
from liveops.services.simulation.gateway import started_gateway
from liveops.services.simulation.schedule import (
    Phase,
    parse_delay_range,
    parse_duration,
    parse_phases,
)
from liveops.services.simulation.sources import file_source

__all__ = [
    "DayReport",
    "Phase",
    "RecordSource",
    "SimulationOptions",
    "SimulationReport",
    "file_source",
    "parse_delay_range",
    "parse_duration",
    "parse_phases",
    "simulate",
    "started_gateway",
]
