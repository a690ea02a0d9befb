"""The API keys aggregate: rows of ``api_keys`` (only hashes; see ``core/access.py``).

Creating and revoking take the caller's write :class:`Connection`, so the change and its audit
event commit together. ``touch`` stores last-used times that a gateway gathered in memory: it
runs on the gateway's poller thread, never on a request.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, select, update

from liveops.store.db import connect
from liveops.store.key_tables import api_keys
from liveops.store.registry import utc

__all__ = ["KeyRecord", "KeyStore"]

_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True)
class KeyRecord:
    """One stored key (never the key itself)."""

    id: str
    name: str
    prefix: str
    hash: str
    role: str
    owner: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None
    rate_per_s: float | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON (the hash left out: it is of no use outside the store)."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "role": self.role,
            "owner": self.owner,
            "created_by": self.created_by,
            "rate_per_s": self.rate_per_s,
        }
        for key in ("created_at", "expires_at", "revoked_at", "last_used_at"):
            value = getattr(self, key)
            out[key] = value.isoformat() if value is not None else None
        out["revoked_by"] = self.revoked_by
        return out


def _opt(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def _record(r: RowMapping) -> KeyRecord:
    return KeyRecord(
        id=r["id"],
        name=r["name"],
        prefix=r["prefix"],
        hash=r["hash"],
        role=r["role"],
        owner=r["owner"],
        created_by=r["created_by"],
        created_at=utc(r["created_at"]),
        expires_at=_opt(r["expires_at"]),
        revoked_at=_opt(r["revoked_at"]),
        revoked_by=r["revoked_by"],
        last_used_at=_opt(r["last_used_at"]),
        rate_per_s=r["rate_per_s"],
    )


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def new_id(self, conn: Connection) -> str:
        """A fresh short key id such as ``ky7k2qx``."""
        while True:
            kid = "ky" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
            if conn.execute(select(api_keys.c.id).where(api_keys.c.id == kid)).first() is None:
                return kid

    def insert(self, conn: Connection, rec: KeyRecord) -> None:
        conn.execute(
            api_keys.insert().values(
                id=rec.id,
                name=rec.name,
                prefix=rec.prefix,
                hash=rec.hash,
                role=rec.role,
                owner=rec.owner,
                created_by=rec.created_by,
                created_at=rec.created_at,
                expires_at=rec.expires_at,
                rate_per_s=rec.rate_per_s,
                changed_at=rec.created_at,
            )
        )

    def revoke(self, conn: Connection, key_id: str, by: str, now: datetime) -> None:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=by, changed_at=now)
        )

    def touch(self, used: Mapping[str, datetime]) -> None:
        """Store last-used times (by key id), never moving one back."""
        if not used:
            return
        with self._engine.begin() as conn:
            for kid, at in used.items():
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == kid)
                    .where((api_keys.c.last_used_at.is_(None)) | (api_keys.c.last_used_at < at))
                    .values(last_used_at=at)
                )

    # --- reads ----------------------------------------------------------------------------

    def records(self, conn: Connection | None = None) -> list[KeyRecord]:
        """Every key, oldest first (revoked and expired ones too)."""
        q = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if conn is not None:
            return [_record(r) for r in conn.execute(q).mappings()]
        with connect(self._engine, write=False) as c:
            return [_record(r) for r in c.execute(q).mappings()]

    def usable(self) -> list[KeyRecord]:
        """The keys not revoked (expiry is checked per request: it needs no query)."""
        q = select(api_keys).where(api_keys.c.revoked_at.is_(None))
        with connect(self._engine, write=False) as c:
            return [_record(r) for r in c.execute(q).mappings()]

    def stamp(self) -> tuple[int, int, datetime | None]:
        """Keys, revoked keys and the latest change: a cache that saw the same stamp is up to
        date (one cheap query instead of reading every key). The counts move on every create
        and revoke even when clocks of two machines disagree about the change's time."""
        q = select(func.count(), func.count(api_keys.c.revoked_at), func.max(api_keys.c.changed_at))
        with connect(self._engine, write=False) as c:
            n, revoked, latest = c.execute(q).one()
        return int(n), int(revoked), _opt(latest)
