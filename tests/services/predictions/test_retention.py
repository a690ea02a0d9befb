"""Raw-input retention is enforced by the running log writer, not only by a cron job."""

from __future__ import annotations

import time
from pathlib import Path

from liveops.core.project import parse_project
from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.services.registry import apply_project
from liveops.store import Store
from tests.services.conftest import PROJECT_YAML
from tests.services.predictions.test_log import rec

RAW_YAML = PROJECT_YAML + "    logging: {raw_inputs: true, raw_retention_days: 7}\n"


def test_the_writer_deletes_expired_raw_inputs_while_it_runs(store: Store, tmp_path: Path) -> None:
    project = parse_project(RAW_YAML)
    apply_project(store, project, actor="ann")
    settings = LogSettings.for_services(project.services, retention_interval_s=0.2)
    plog = open_prediction_log(store, tmp_path, settings)
    try:
        old = rec(ts=time.time() - 10 * 86400)  # its raw input expired three days ago
        fresh = rec()
        plog.submit([old, fresh])
        assert plog.flush(10)
        deadline = time.monotonic() + 30
        while store.predictions.raw_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.predictions.raw_count() == 1
        assert store.predictions.get(old.prediction_id)["raw_inputs"] is None
        assert store.predictions.get(fresh.prediction_id)["raw_inputs"] is not None
        # The redacted record itself stays.
        assert set(store.predictions.ids()) == {old.prediction_id, fresh.prediction_id}
        deadline = time.monotonic() + 10
        while plog.stats()["raw_purged_total"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert plog.stats()["raw_purged_total"] == 1
    finally:
        plog.close()


def test_a_purged_raw_input_leaves_no_byte_in_the_sqlite_files(tmp_path: Path) -> None:
    from liveops.services.predictions import purge_raw_inputs
    from liveops.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'liveops.db'}", project_dir=tmp_path)
    project = parse_project(RAW_YAML)
    apply_project(store, project, actor="ann")
    settings = LogSettings.for_services(project.services, retention_interval_s=0)
    plog = open_prediction_log(store, tmp_path, settings)
    secret = "zelda.quist@example.org"
    try:
        old = rec(ts=time.time() - 10 * 86400, inputs={"text": f"write to {secret}"})
        fresh = rec(inputs={"text": "write to bo@example.org"})  # kept: shares old's page
        plog.submit([old, fresh])
        assert plog.flush(10)
        assert store.predictions.get(old.prediction_id)["raw_inputs"] is not None
        assert purge_raw_inputs(store).deleted == 1
        # While the gateway still runs (its writer holds a connection): deleted is not
        # enough, the row's bytes must not stay in the page's free space nor in the WAL.
        files = [p for p in tmp_path.glob("liveops.db*") if p.is_file()]
        assert files
        assert not [p.name for p in files if secret.encode() in p.read_bytes()]
        assert b"bo@example.org" in b"".join(p.read_bytes() for p in files)  # the search works
    finally:
        plog.close()
        store.close()
