"""Schema migrations: one Alembic history for SQLite and PostgreSQL, run programmatically.

Alembic is imported only when a migration has to run (or a question only it can answer): every
command opens the store, and an up-to-date schema is the usual case, answered by one query
against ``alembic_version`` and a read of the history's revision ids.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(
    r'^(revision|down_revision)\s*(?::[^=]*)?=\s*["\']?([\w.-]+|None)["\']?', re.M
)


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def heads() -> list[str]:
    """The head revisions of the history, as Alembic sees it (there must be exactly one)."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(_config()).get_heads())


@cache
def head_revision() -> str:
    """The single head of the history, read from the migration files without Alembic.

    A test checks that it equals :func:`heads`; a history with several heads is refused."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found: dict[str, str] = {m[1]: m[2] for m in _REVISION.finditer(text)}
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision") not in (None, "None"):
                parents.add(found["down_revision"])
    tips = sorted(revisions - parents)
    if len(tips) != 1:
        raise RuntimeError(f"the migration history must have exactly one head, found {tips}")
    return tips[0]


def known(revision: str) -> bool:
    """Whether ``revision`` is in this liveops' history."""
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except Exception:
        return False


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return None if row is None else str(row[0])


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current_revision(engine)
