"""Evidently's DataDriftPreset on two Parquet files, in its own process: one JSON line.

Runs in the peers' venv (pandas, evidently), never the project's: ``python tool_evidently.py
REFERENCE CURRENT``. Default drift methods (Evidently picks them per column).
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from typing import Any


def main(ref_path: str, cur_path: str) -> None:
    import evidently
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    t0 = time.perf_counter()
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    t1 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur)
    t2 = time.perf_counter()
    columns: dict[str, Any] = {}
    for m in snapshot.dict()["metrics"]:
        # ValueDrift(column=NAME,method=..., threshold=...): one per column.
        found = re.match(r"ValueDrift\(column=([^,)]+)(.*)\)", m.get("metric_name", ""))
        if not found:
            continue
        cfg = m.get("config", {})
        value = float(m["value"])
        threshold = float(cfg.get("threshold") or 0.0)
        method = str(cfg.get("method", ""))
        # A p-value method drifts below its threshold, a distance at or above it.
        pvalue = "p_value" in method or "test" in method.lower()
        drifted = value < threshold if pvalue else value >= threshold
        columns[found.group(1)] = {
            "method": method,
            "statistic": value,
            "threshold": threshold,
            "drifted": drifted,
        }
    print(
        json.dumps(
            {
                "tool": "evidently",
                "version": evidently.__version__,
                "read_s": t1 - t0,
                "compute_s": t2 - t1,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "columns": columns,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
