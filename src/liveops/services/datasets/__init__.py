"""Datasets: content-hashed snapshots with a column profile and kept reference columns."""

from __future__ import annotations

from liveops.services.datasets.snapshots import (
    DEFAULT_REFERENCE_CAP,
    FORMATS,
    add_dataset,
    frame_columns,
    load_frame,
    load_records,
    read_table,
    resolve_dataset,
)

__all__ = [
    "DEFAULT_REFERENCE_CAP",
    "FORMATS",
    "add_dataset",
    "frame_columns",
    "load_frame",
    "load_records",
    "read_table",
    "resolve_dataset",
]
