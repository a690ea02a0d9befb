"""The API keys table (migration 0014), on the shared ``metadata``.

A row is one key: its SHA-256 (never the key itself), the first characters to tell keys apart,
its role and owner, when it was made, last used, expires and was revoked. ``changed_at`` moves on
every create and revoke, so a gateway can tell cheaply whether its cache is stale.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, String, Table

from liveops.store.tables import metadata

_TS = DateTime(timezone=True)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("expires_at", _TS, nullable=True),
    Column("revoked_at", _TS, nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("last_used_at", _TS, nullable=True),
    Column("rate_per_s", Float, nullable=True),
    Column("changed_at", _TS, nullable=False),
    Index("ix_api_keys_changed_at", "changed_at"),
)
