"""Persistence: one :class:`Store` gathers the aggregates (registry, datasets, audit, artifacts,
evaluation, review, predictions, monitoring, releases, API keys, rollouts).

>>> import tempfile
>>> store = open_store("sqlite://", artifacts_root=Path(tempfile.mkdtemp()))
>>> store.registry.list_services()
[]
>>> store.audit.verify().ok
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from liveops.core.clock import Clock, SystemClock
from liveops.errors import StoreUnavailableError
from liveops.store import migrate
from liveops.store.alerts import AlertStore
from liveops.store.artifacts import ENV_ARTIFACTS, ArtifactStore
from liveops.store.audit import AuditStore
from liveops.store.datasets import DatasetStore
from liveops.store.db import connect, default_url, is_sqlite, make_engine, unavailable
from liveops.store.drift_points import DriftStore
from liveops.store.evaluation import EvaluationStore
from liveops.store.keys import KeyStore
from liveops.store.monitoring import MonitoringStore
from liveops.store.outcomes import OutcomeStore
from liveops.store.predictions import PredictionStore
from liveops.store.registry import RegistryStore
from liveops.store.releases import ReleaseStore
from liveops.store.review import ReviewStore
from liveops.store.rollouts import RolloutStore
from liveops.store.ticks import TickStore

__all__ = [
    "AlertStore",
    "ArtifactStore",
    "AuditStore",
    "DatasetStore",
    "EvaluationStore",
    "KeyStore",
    "MonitoringStore",
    "OutcomeStore",
    "PredictionStore",
    "RegistryStore",
    "ReleaseStore",
    "ReviewStore",
    "RolloutStore",
    "Store",
    "TickStore",
    "open_store",
]

_PG_MIGRATION_LOCK = 0x11FE0B5  # pg_advisory_lock key: one replica migrates at a time


class Store:
    """The database and artifact store of one project, and the clock that stamps changes."""

    def __init__(self, engine: Engine, artifacts: ArtifactStore, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.artifacts = artifacts
        self.registry = RegistryStore(engine)
        self.datasets = DatasetStore(engine)
        self.evaluation = EvaluationStore(engine)
        self.audit = AuditStore(engine, clock)
        self.reviews = ReviewStore(engine)
        self.predictions = PredictionStore(engine, clock)
        self.monitoring = MonitoringStore(engine)
        self.ticks = TickStore(engine)
        self.outcomes = OutcomeStore(engine, self.predictions, clock)
        self.releases = ReleaseStore(engine)
        self.alerts = AlertStore(engine)
        self.keys = KeyStore(engine)
        self.rollouts = RolloutStore(engine)
        self.drift = DriftStore(engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction holding the project-wide write lock."""
        with connect(self.engine, write=True) as conn:
            yield conn

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


def open_store(
    url: str | None = None,
    *,
    project_dir: Path | None = None,
    artifacts_root: Path | None = None,
    clock: Clock | None = None,
    upgrade: bool = True,
) -> Store:
    """Open (and on first use create) the store; migrate it to the current schema."""
    import os

    project_dir = project_dir or Path.cwd()
    engine = make_engine(url or default_url(project_dir))
    if artifacts_root is None:
        env = os.environ.get(ENV_ARTIFACTS)
        artifacts_root = Path(env) if env else project_dir / ".liveops" / "artifacts"
    try:
        if upgrade:
            ensure_schema(engine)
        else:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise unavailable(engine, exc) from exc
    return Store(engine, ArtifactStore(artifacts_root), clock or SystemClock())


def ensure_schema(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the head of the migration history if it is behind."""
    head = migrate.head_revision()
    current = migrate.current_revision(engine)
    if current == head:
        return current, current
    if current is not None and not migrate.known(current):
        raise StoreUnavailableError(
            f"the database at {engine.url.render_as_string(hide_password=True)} is at schema "
            f"revision {current!r}, which this liveops does not know (this liveops goes up to "
            f"{head!r}); a newer liveops migrated it",
            hint="upgrade liveops (pip install -U liveops) or point LIVEOPS_DATABASE_URL elsewhere",
        )
    if is_sqlite(engine):
        return migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            return migrate.upgrade(engine)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
