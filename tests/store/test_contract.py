"""The store contract: every operation on every backend (SQLite memory and file, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from liveops.core.records import DatasetRecord, VersionRecord
from liveops.store import Store, open_store
from liveops.store.tables import audit_events, audit_head

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _service(store: Store, name: str = "svc") -> None:
    with store.write() as conn:
        store.registry.upsert_service(conn, name, {"name": name, "owner": "o"}, "h1", NOW)


def _version(service: str, number: int, content: str = "c") -> VersionRecord:
    return VersionRecord(
        service=service,
        number=number,
        content_hash=f"{content}{number}",
        artifact_hash="a" * 64,
        artifact_format="skops",
        config={"decision": {"threshold": 0.7}},
        lineage={"python": "3.11"},
        metrics={"accuracy": 0.9},
        message="m",
        owner="ann",
        created_at=NOW,
    )


def test_service_upsert_reports_created_updated_unchanged(store: Store) -> None:
    with store.write() as conn:
        assert store.registry.upsert_service(conn, "svc", {"a": 1}, "h1", NOW) == "created"
        assert store.registry.upsert_service(conn, "svc", {"a": 1}, "h1", NOW) == "unchanged"
        assert store.registry.upsert_service(conn, "svc", {"a": 2}, "h2", NOW) == "updated"
    rec = store.registry.get_service("svc")
    assert rec is not None
    assert rec.spec == {"a": 2}
    assert rec.spec_hash == "h2"
    assert rec.created_at.tzinfo is not None
    assert [s.name for s in store.registry.list_services()] == ["svc"]
    assert store.registry.get_service("nope") is None


def test_kill_switch_flag_round_trips(store: Store) -> None:
    _service(store)
    with store.write() as conn:
        assert store.registry.set_disabled(conn, "svc", True, NOW) is False
        assert store.registry.set_disabled(conn, "svc", True, NOW) is True
    rec = store.registry.get_service("svc")
    assert rec is not None
    assert rec.disabled


def test_versions_numbering_lookup_and_uniqueness(store: Store) -> None:
    _service(store)
    with store.write() as conn:
        assert store.registry.next_number(conn, "svc") == 1
        store.registry.insert_version(conn, _version("svc", 1))
        assert store.registry.next_number(conn, "svc") == 2
        assert store.registry.find_by_content(conn, "svc", "c1") == 1
        assert store.registry.find_by_content(conn, "svc", "zz") is None
    v = store.registry.get_version("svc", 1)
    assert v is not None
    assert (v.config, v.metrics, v.lineage) == (
        {"decision": {"threshold": 0.7}},
        {"accuracy": 0.9},
        {"python": "3.11"},
    )
    assert store.registry.get_version("svc", 2) is None
    with pytest.raises(DbIntegrityError), store.write() as conn:
        store.registry.insert_version(conn, _version("svc", 1, content="other"))
    # the failed transaction left nothing behind
    assert [x.number for x in store.registry.list_versions("svc")] == [1]


def test_version_needs_a_known_service(store: Store) -> None:
    with pytest.raises(DbIntegrityError), store.write() as conn:
        store.registry.insert_version(conn, _version("ghost", 1))


def test_aliases_move_and_show_on_versions(store: Store) -> None:
    _service(store)
    with store.write() as conn:
        store.registry.insert_version(conn, _version("svc", 1))
        store.registry.insert_version(conn, _version("svc", 2))
        assert store.registry.set_alias(conn, "svc", "production", 1, "ann", NOW) is None
        assert store.registry.set_alias(conn, "svc", "production", 2, "bob", NOW) == 1
        store.registry.set_alias(conn, "svc", "candidate", 2, "bob", NOW)
    assert store.registry.get_alias("svc", "production") == 2
    assert store.registry.aliases_of("svc") == {"production": 2, "candidate": 2}
    listed = store.registry.list_versions("svc")
    assert [v.aliases for v in listed] == [(), ("candidate", "production")]


def test_datasets_latest_and_numbered(store: Store) -> None:
    def ds(n: int) -> DatasetRecord:
        return DatasetRecord(
            name="d",
            number=n,
            content_hash=f"h{n}",
            format="csv",
            source="x.csv",
            rows=10 * n,
            profile={"rows": 10 * n},
            data_artifact="a",
            reference_artifact="a",
            reference_rows=10,
            reference_cap=100,
            created_by="ann",
            created_at=NOW,
        )

    with store.write() as conn:
        assert store.datasets.next_number(conn, "d") == 1
        store.datasets.insert(conn, ds(1))
        store.datasets.insert(conn, ds(2))
        assert store.datasets.find_by_content(conn, "d", "h1") == 1
    latest = store.datasets.get("d")
    assert latest is not None
    assert latest.number == 2
    assert latest.rows == 20
    first = store.datasets.get("d", 1)
    assert first is not None
    assert first.profile == {"rows": 10}
    assert [d.ref for d in store.datasets.list()] == ["d@1", "d@2"]
    assert store.datasets.get("e") is None


def _append(store: Store, n: int) -> None:
    with store.write() as conn:
        for i in range(n):
            store.audit.append(
                conn,
                actor="ann",
                action="x.done",
                object_type="x",
                object_id=f"x{i}",
                reason="why",
                data={"i": i},
            )


def test_audit_append_and_verify(store: Store) -> None:
    _append(store, 3)
    report = store.audit.verify()
    assert report.ok
    assert report.events == 3
    events = store.audit.events()
    assert [e.seq for e in events] == [3, 2, 1]
    assert events[0].prev_hash == events[1].hash
    assert [e.object_id for e in store.audit.events(object_id="x1")] == ["x1"]


def _tamper(store: Store, sql: str) -> None:
    with store.engine.begin() as conn:
        if store.backend == "postgresql":
            conn.execute(
                sa.text("SET LOCAL session_replication_role = replica")
            )  # bypass the trigger
        conn.execute(sa.text(sql))


def test_audit_verify_finds_an_edited_event(store: Store) -> None:
    _append(store, 3)
    _tamper(store, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    report = store.audit.verify()
    assert not report.ok
    assert any("edited" in p for p in report.problems)


def test_audit_verify_finds_a_deleted_event(store: Store) -> None:
    _append(store, 3)
    _tamper(store, "DELETE FROM audit_events WHERE seq = 2")
    report = store.audit.verify()
    assert not report.ok
    assert any("missing" in p for p in report.problems)


def test_audit_verify_finds_the_last_event_removed(store: Store) -> None:
    _append(store, 3)
    _tamper(store, "DELETE FROM audit_events WHERE seq = 3")
    report = store.audit.verify()
    assert not report.ok
    assert any("head records 3" in p for p in report.problems)


def test_audit_verify_finds_the_last_event_and_head_rewound_consistently_only_if_hash_differs(
    store: Store,
) -> None:
    # Rewinding the head's count without its hash is still caught by the hash check.
    _append(store, 3)
    _tamper(store, "DELETE FROM audit_events WHERE seq = 3")
    _tamper(store, "UPDATE audit_head SET count = 2 WHERE id = 1")
    assert not store.audit.verify().ok


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_audit_events(
    pg_schema_url: str, tmp_path: Path
) -> None:
    store = open_store(pg_schema_url, artifacts_root=tmp_path)
    _append(store, 1)
    for stmt in (audit_events.update().values(actor="x"), audit_events.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(stmt)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(audit_head.c.count)).scalar_one() == 1
    assert store.audit.verify().ok
    store.close()


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_audit_events(pg_schema_url: str, tmp_path: Path) -> None:
    store = open_store(pg_schema_url, artifacts_root=tmp_path)
    _append(store, 2)
    refused = "append-only: TRUNCATE refused"
    for sql in ("TRUNCATE audit_events", "TRUNCATE TABLE audit_events, audit_head"):
        with pytest.raises(sa.exc.DBAPIError, match=refused), store.engine.begin() as conn:
            conn.execute(sa.text(sql))
    report = store.audit.verify()
    assert report.ok
    assert report.events == 2
    store.close()


def test_monitor_windows_of_some_slices_only(store: Store) -> None:
    """An alert evaluation reads the windows of the slices its rules judge, not every slice."""
    window = int(NOW.timestamp()) // 300
    points = [
        {"version": 1, "arm": "production", "slice": s, "window": window + i, "stats": {"n": i}}
        for s in ("all", "spanish", "channel=web")
        for i in (0, 1)
    ]
    store.monitoring.replace_windows("svc", [(window, window + 2)], points, NOW)
    every = store.monitoring.windows("svc", NOW)
    assert sorted({w[2] for w in every}) == ["all", "channel=web", "spanish"]
    some = store.monitoring.windows("svc", NOW, slices={"all", "spanish"})
    assert sorted((w[2], w[4]["n"]) for w in some) == [
        ("all", 0), ("all", 1), ("spanish", 0), ("spanish", 1),
    ]  # fmt: skip
    assert store.monitoring.windows("svc", NOW, slices=set()) == []
