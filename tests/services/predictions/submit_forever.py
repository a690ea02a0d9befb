"""A stand-in gateway for the kill -9 test: submits batches and prints each batch's ids once
``submit`` returned (the moment a gateway would send its 200), until it is killed. The first
line names its log writer process, so that a test can kill both.

    python -m tests.services.predictions.submit_forever DATABASE_URL PROJECT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.store import open_store
from tests.services.predictions.test_log import rec


def main() -> None:
    url, project = sys.argv[1], Path(sys.argv[2])
    store = open_store(url, project_dir=project)
    # Small, frequent batches: at the kill some records are stored, some only spooled.
    plog = open_prediction_log(store, project, LogSettings(flush_interval_s=0.05, batch_max=500))
    writer = plog._proc
    sys.stdout.write(f"writer {writer.pid if writer is not None else 0}\n")  # killed together
    while True:
        records = [rec() for _ in range(10)]
        plog.submit(records)
        sys.stdout.write(" ".join(r.prediction_id for r in records) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
