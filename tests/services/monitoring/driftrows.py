"""Two days of a tabular service's traffic for the drift pass: day 1 like its reference, day 2
with ``mean_radius`` larger (a numeric shift) and ``clinic`` mostly north (a categorical
shift), and ``mean_texture`` missing on a tenth of day 2's rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.project import parse_project
from liveops.services.datasets import add_dataset
from liveops.services.registry import apply_project
from liveops.store import Store
from tests.services.monitoring.logrows import log_row, store_rows
from tests.services.tabular import tabular_yaml

ROWS_PER_DAY = 600  # per day, versions 1 and 2 alternating
SHIFTED = {"mean_radius", "clinic"}


def drift_yaml(extra: str = "") -> str:
    """The tabular project, tumours with ``reference: tumours-ref`` (and ``extra`` lines)."""
    return tabular_yaml().replace(
        "    model_inputs: [mean_radius, mean_texture, mean_area]\n",
        "    model_inputs: [mean_radius, mean_texture, mean_area]\n"
        "    reference: tumours-ref\n" + extra,
    )


def _inputs(rng: np.random.Generator, shifted: bool) -> dict[str, Any]:
    radius = rng.normal(20.0 if shifted else 14.0, 3.5)
    texture = None if shifted and rng.random() < 0.1 else float(rng.normal(19.0, 4.0))
    north = 0.9 if shifted else 0.5
    return {
        "mean_radius": float(radius),
        "mean_texture": texture,
        "mean_area": float(rng.normal(650.0, 300.0)),
        "clinic": "north" if rng.random() < north else "south",
    }


def setup_drift(store: Store, folder: Path, yaml: str | None = None) -> None:
    """Apply the project and add the reference (2,000 rows like day 1)."""
    rng = np.random.default_rng(7)
    rows = [_inputs(rng, False) for _ in range(2000)]
    lines = ["mean_radius,mean_texture,mean_area,clinic"]
    lines += [
        f"{r['mean_radius']},{r['mean_texture']},{r['mean_area']},{r['clinic']}" for r in rows
    ]
    path = folder / "tumours-ref.csv"
    path.write_text("\n".join(lines) + "\n")
    apply_project(store, parse_project(yaml or drift_yaml()), actor="ann")
    add_dataset(store, path, name="tumours-ref", actor="ann")


def log_day(
    store: Store, day: datetime, *, shifted: bool, rows: int = ROWS_PER_DAY, seed: int = 0
) -> list[dict[str, Any]]:
    """``rows`` answers spread over the UTC day starting at ``day``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(rows):
        ts = day + timedelta(seconds=(i + 0.5) * 86400 / rows)
        inputs = _inputs(rng, shifted)
        out.append(log_row(ts, version=1 + i % 2, clinic=inputs["clinic"], inputs=inputs))
    store_rows(store, out)
    return out
