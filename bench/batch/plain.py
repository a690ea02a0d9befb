"""The plain script liveops batch is measured against: read the Parquet file, call the
pipeline's ``predict_proba`` on the whole text column at once, write label and confidence.

    python bench/batch/plain.py IN.parquet MODEL.skops OUT.parquet
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import skops.io as sio


def main(src: str, model: str, out: str) -> None:
    pipe = sio.load(model, trusted=[])
    table = pq.read_table(src, columns=["id", "text"])
    proba = pipe.predict_proba(table.column("text").to_pylist())
    best = proba.argmax(axis=1)
    labels = np.asarray(pipe.classes_)[best]
    result = pa.table(
        {
            "id": table.column("id"),
            "label": pa.array(labels.tolist(), pa.string()),
            "confidence": proba[np.arange(len(best)), best],
        }
    )
    pq.write_table(result, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
