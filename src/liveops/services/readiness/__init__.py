"""Readiness: is a version ready to release? Gates, must-pass, review coverage, agreement."""

from __future__ import annotations

from liveops.services.readiness.report import (
    MIN_KAPPA,
    readiness,
)

__all__ = [
    "MIN_KAPPA",
    "readiness",
]
