"""One Alembic history with a single head, and the ORM-free tables match what it builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from liveops.errors import StoreUnavailableError
from liveops.store import migrate, open_store
from liveops.store.tables import metadata

pytestmark = pytest.mark.real_migrations  # these test the history itself


def test_history_has_exactly_one_head() -> None:
    assert len(migrate.heads()) == 1
    # The fast path that opens an up-to-date store reads the head without Alembic.
    assert migrate.head_revision() == migrate.heads()[0]


def test_migrated_schema_has_every_declared_table_and_column(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url, artifacts_root=tmp_path)
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    assert migrate.current_revision(store.engine) == migrate.heads()[0]
    store.close()


def test_opening_twice_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x' / 'liveops.db'}"
    s1 = open_store(url, artifacts_root=tmp_path)
    with s1.write() as conn:
        s1.audit.append(conn, actor="a", action="t.t", object_type="t", object_id="1")
    s1.close()
    s2 = open_store(url, artifacts_root=tmp_path)
    assert s2.audit.verify().events == 1
    mode = s2.engine.connect().exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
    s2.close()


def test_a_database_from_a_newer_liveops_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'liveops.db'}"
    open_store(url, artifacts_root=tmp_path).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(StoreUnavailableError, match=r"9999_future.*newer liveops"):
        open_store(url, artifacts_root=tmp_path)


@pytest.mark.postgres
def test_the_truncate_trigger_downgrades_and_upgrades(pg_schema_url: str, tmp_path: Path) -> None:
    from alembic import command

    store = open_store(pg_schema_url, artifacts_root=tmp_path)
    triggers = sa.text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass "
        "AND NOT tgisinternal ORDER BY tgname"
    )
    both = ["audit_events_append_only", "audit_events_no_truncate"]
    with store.engine.connect() as conn:
        assert conn.execute(triggers).scalars().all() == both
    cfg = migrate._config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with store.engine.connect() as conn:
        assert conn.execute(triggers).scalars().all() == ["audit_events_append_only"]
    assert migrate.upgrade(store.engine) == ("0004", migrate.heads()[0])
    with store.engine.connect() as conn:
        assert conn.execute(triggers).scalars().all() == both
    store.close()
