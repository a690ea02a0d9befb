"""liveops' drift on two Parquet files, in its own process: prints one JSON line.

``python bench/drift/tool_liveops.py REFERENCE CURRENT``. The files are read with pyarrow:
numeric columns become float arrays (nulls as NaN), text columns their value counts (what a
columnar reader gives for free), then :func:`liveops.core.drift.report.drift_report`.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def read(path: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from liveops.core.drift.report import CategoryCounts

    tbl = pq.read_table(path)
    out: dict[str, Any] = {}
    for name in tbl.column_names:
        col = tbl.column(name)
        if pa.types.is_string(col.type) or pa.types.is_dictionary(col.type):
            vc = pc.value_counts(col)
            values = vc.field("values").to_pylist()
            counts = vc.field("counts").to_pylist()
            out[name] = CategoryCounts(
                {v: c for v, c in zip(values, counts, strict=True) if v is not None},
                missing=col.null_count,
            )
        else:
            out[name] = col.to_numpy().astype("float64", copy=False)
    return out


def main(ref_path: str, cur_path: str) -> None:
    import liveops
    from liveops.core.drift.report import drift_report

    t0 = time.perf_counter()
    ref, cur = read(ref_path), read(cur_path)
    t1 = time.perf_counter()
    report = drift_report(ref, cur)
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
