"""The prediction log on every backend: spool, writer, redaction, replay, issued ids."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from liveops.core.project import LoggingSpec
from liveops.core.serving.prediction import PredictionRecord, new_prediction_id
from liveops.errors import ConflictError
from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.services.predictions.log import _encode
from liveops.services.predictions.spool import claim_spool
from liveops.store import Store, open_store


def rec(service: str = "router", **over: Any) -> PredictionRecord:
    now = time.time()
    base: dict[str, Any] = {
        "prediction_id": new_prediction_id(now),
        "service": service,
        "version": 2,
        "arm": "production",
        "ts": now,
        "inputs": {"text": "refund to ES91 2100 0418 4502 0005 1332 please, order 88213"},
        "label": "billing",
        "scores": {"billing": 0.8, "technical": 0.2},
        "confidence": 0.8,
        "latency_ms": 4.2,
        "caller": "web",
        "segments": {"channel": "email", "plan": "pro", "language": "en", "region": "eu"},
    }
    return PredictionRecord(**(base | over))


def test_submitted_records_arrive_redacted_with_typed_columns(store: Store, tmp_path: Path) -> None:
    plog = open_prediction_log(store, tmp_path)
    records = [rec() for _ in range(50)]
    plog.submit(records[:20])
    plog.submit(records[20:])
    assert plog.flush(10)
    assert store.predictions.ids() == [r.prediction_id for r in records]
    got = store.predictions.get(records[0].prediction_id)
    assert got is not None
    assert got["inputs"] == {"text": "refund to [IBAN] please, order 88213"}
    assert got["redactions"] == 1
    assert (got["channel"], got["plan"], got["language"]) == ("email", "pro", "en")
    assert got["segments"] == {"region": "eu"}
    assert got["version"] == 2
    assert got["label"] == "billing"
    assert got["latency_ms"] == 4.2
    stats = plog.stats()
    assert stats["backlog"] == 0
    assert stats["written_total"] == 50
    assert stats["database_ok"] == 1
    plog.close()
    with pytest.raises(ConflictError):
        plog.submit([rec()])


def test_service_patterns_and_raw_inputs(store: Store, tmp_path: Path) -> None:
    settings = LogSettings(
        services={
            "router": LoggingSpec(redact=[{"customer": r"CU-\d+"}], raw_inputs=True),
            "other": LoggingSpec(),
        }
    )
    plog = open_prediction_log(store, tmp_path, settings)
    a = rec(inputs={"text": "I am CU-00042, mail ana@example.com"})
    b = rec(service="other", inputs={"text": "I am CU-00042"})
    plog.submit([a, b])
    assert plog.flush(10)
    plog.close()
    got_a, got_b = store.predictions.get(a.prediction_id), store.predictions.get(b.prediction_id)
    assert got_a is not None
    assert got_b is not None
    assert got_a["inputs"] == {"text": "I am [CUSTOMER], mail [EMAIL]"}
    assert got_a["raw_inputs"] == {"text": "I am CU-00042, mail ana@example.com"}
    assert got_b["inputs"] == {"text": "I am CU-00042"}
    assert got_b["raw_inputs"] is None


def test_reopen_replays_what_was_not_stored_without_duplicates(
    store: Store, tmp_path: Path
) -> None:
    plog = open_prediction_log(store, tmp_path)
    first = [rec() for _ in range(10)]
    plog.submit(first)
    assert plog.flush(10)
    plog.close()
    # What a crashed gateway leaves: records in its spool that its writer never stored
    # (also one already stored, repeated: replaying it again is harmless).
    spool = claim_spool(tmp_path / ".liveops" / "spool" / "predictions")
    lost = [rec() for _ in range(7)]
    spool.append(b"".join(_encode(r) for r in [first[0], *lost]))
    folder = spool.folder
    spool.close()
    assert any(folder.glob("*.seg"))
    reopened = open_prediction_log(store, tmp_path)
    assert all(reopened.issued_locally(r.prediction_id) for r in lost)
    assert reopened.flush(10)
    assert store.predictions.ids() == sorted(r.prediction_id for r in first + lost)
    assert reopened.stats()["replayed_total"] == 8
    reopened.close()


def test_issued_knows_recent_ids_and_the_database(store: Store, tmp_path: Path) -> None:
    plog = open_prediction_log(store, tmp_path, LogSettings(issued_cache=3))
    records = [rec() for _ in range(5)]
    plog.submit(records)
    assert all(plog.issued_locally(r.prediction_id) for r in records[2:])
    assert not plog.issued_locally(records[0].prediction_id)  # fell out of the cache
    assert plog.flush(10)
    assert plog.issued(records[0].prediction_id)  # the database knows it
    assert not plog.issued(new_prediction_id(time.time()))
    plog.close()


def test_the_writer_process_gets_the_password_on_neither_its_command_line_nor_its_environment(
    pg_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.engine import make_url

    secret = "s3cret-Pw-9x"  # the test server trusts local connections: any password works
    url = make_url(pg_schema_url).set(password=secret).render_as_string(hide_password=False)
    monkeypatch.setenv("LIVEOPS_DATABASE_URL", url)  # as a gateway configured by environment
    store = open_store(url, project_dir=tmp_path)
    plog = open_prediction_log(store, tmp_path)
    try:
        proc = plog._proc
        assert proc is not None  # a server database gets a writer process
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        assert b"liveops.services.predictions.writer" in cmdline  # it is the writer
        assert secret.encode() not in cmdline
        assert secret.encode() not in environ
        r = rec()
        plog.submit([r])
        assert plog.flush(30), plog.stats()  # the writer reached the database all the same
        assert store.predictions.get(r.prediction_id) is not None
    finally:
        plog.close()
        store.close()


def test_unredacted_inputs_leave_the_spool_as_soon_as_they_are_stored(
    store: Store, tmp_path: Path
) -> None:
    settings = LogSettings(services={"router": LoggingSpec(raw_inputs=True)})
    plog = open_prediction_log(store, tmp_path, settings)
    try:
        records = [rec(inputs={"text": f"mail ana{i}@example.com"}) for i in range(5)]
        plog.submit(records[:3])
        plog.submit(records[3:])
        assert plog.flush(10), plog.stats()
        # While the gateway still runs: the redacted spool never held the address, and the
        # raw spool's segment went once stored, though it is still the one appended to.
        spooled = b"".join(
            p.read_bytes() for p in (tmp_path / ".liveops" / "spool").rglob("*") if p.is_file()
        )
        assert b"@example.com" not in spooled
        later = rec(inputs={"text": "mail bo@example.com"})
        plog.submit([later])  # the appender moves on to a new segment
        assert plog.flush(10), plog.stats()
    finally:
        plog.close()
    got = store.predictions.get(later.prediction_id)
    assert got is not None
    assert got["raw_inputs"] == {"text": "mail bo@example.com"}
    assert got["inputs"] == {"text": "mail [EMAIL]"}
    assert store.predictions.get(records[4].prediction_id)["raw_inputs"] is not None  # type: ignore[index]
