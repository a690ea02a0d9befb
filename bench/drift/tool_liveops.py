"""liveops' drift on two Parquet files, in its own process: prints one JSON line.

``python bench/drift/tool_liveops.py REFERENCE CURRENT``. The same path as ``liveops drift
REFERENCE CURRENT``: :func:`liveops.services.drift.load_table` reads each file one column at a
time with pyarrow (numbers as float arrays, nulls as NaN; categories as their value counts),
then :func:`liveops.core.drift.check.check_drift` runs the data-quality checks and the drift of
every column.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(ref_path: str, cur_path: str) -> None:
    import liveops
    from liveops.core.drift.check import check_drift
    from liveops.services.drift import load_table

    t0 = time.perf_counter()
    ref = load_table(ref_path)
    cur = load_table(cur_path, like=ref)
    t1 = time.perf_counter()
    report = check_drift(ref, cur).drift
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "tool": "liveops",
                "version": getattr(liveops, "__version__", "0.1.0"),
                "read_s": t1 - t0,
                "compute_s": t2 - t1,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "columns": {
                    c.column: {
                        "method": c.method,
                        "statistic": c.statistic,
                        "threshold": c.threshold,
                        "drifted": bool(c.drifted),
                        "missing": [
                            c.reference_missing / max(c.reference_size + c.reference_missing, 1),
                            c.current_missing / max(c.current_size + c.current_missing, 1),
                        ],
                    }
                    for c in report.columns
                },
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
