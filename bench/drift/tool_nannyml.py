"""NannyML's UnivariateDriftCalculator on two Parquet files, in its own process: one JSON line.

Runs in the peers' venv: ``NML_DISABLE_USAGE_LOGGING=1 python tool_nannyml.py REFERENCE
CURRENT``. One chunk (``chunk_number=1``), so it makes one comparison as the others do; default
methods (Jensen-Shannon for both kinds) and thresholds. Compute = fit + calculate.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")


def main(ref_path: str, cur_path: str) -> None:
    import nannyml as nml
    import pandas as pd

    t0 = time.perf_counter()
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    t1 = time.perf_counter()
    names = list(ref.columns)
    cats = [c for c in names if ref[c].dtype == object or str(ref[c].dtype) == "string"]
    calc = nml.UnivariateDriftCalculator(
        column_names=names, treat_as_categorical=cats, chunk_number=1
    )
    calc.fit(ref)
    result = calc.calculate(cur)
    t2 = time.perf_counter()
    df = result.filter(period="analysis").to_df()
    columns: dict[str, Any] = {}
    for name in names:
        method = "jensen_shannon"
        value = float(df[(name, method, "value")].iloc[-1])
        upper = df[(name, method, "upper_threshold")].iloc[-1]
        columns[name] = {
            "method": method,
            "statistic": value,
            "threshold": None if pd.isna(upper) else float(upper),
            "drifted": bool(df[(name, method, "alert")].iloc[-1]),
            # Its thresholds come from the spread between reference chunks, and one chunk has
            # none; the same values judged at 0.1, the rule the other two tools use:
            "drifted_at_0.1": value >= 0.1,
        }
    print(
        json.dumps(
            {
                "tool": "nannyml",
                "version": nml.__version__,
                "read_s": t1 - t0,
                "compute_s": t2 - t1,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "columns": columns,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
