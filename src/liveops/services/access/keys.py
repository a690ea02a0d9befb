"""Creating, listing and revoking API keys; every change is an audit event (without the key).

>>> import tempfile
>>> from pathlib import Path
>>> from liveops.store import open_store
>>> store = open_store("sqlite://", artifacts_root=Path(tempfile.mkdtemp()))
>>> made = create_key(store, "ci", role="predictor", owner="ann", actor="ann")
>>> made.token.startswith(made.record.prefix)
True
>>> [k.name for k in list_keys(store)]
['ci']
>>> [k.revoked_by for k in revoke_key(store, "ci", actor="bob")]
['bob']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from liveops.core.access import check_role, key_hash, new_token, token_prefix
from liveops.core.names import check_name
from liveops.errors import NotFoundError, UsageError
from liveops.store import Store
from liveops.store.keys import KeyRecord

__all__ = ["NewKey", "create_key", "list_keys", "revoke_key"]


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``token`` is shown once and stored nowhere."""

    token: str
    record: KeyRecord


def create_key(
    store: Store,
    name: str,
    *,
    role: str,
    owner: str,
    actor: str,
    expires_in: timedelta | None = None,
    rate_per_s: float | None = None,
) -> NewKey:
    """A new key for ``owner`` with ``role``; only its SHA-256 is stored."""
    check_name(name, "key name")
    check_role(role)
    if not owner.strip():
        raise UsageError("a key needs an owner", hint="--owner PERSON (who answers for it)")
    if rate_per_s is not None and not rate_per_s > 0:
        raise UsageError(f"--rate {rate_per_s} must be above 0", hint="e.g. --rate 50")
    token = new_token()
    now = store.clock.now()
    with store.write() as conn:
        record = KeyRecord(
            id=store.keys.new_id(conn),
            name=name,
            prefix=token_prefix(token),
            hash=key_hash(token),
            role=role,
            owner=owner.strip(),
            created_by=actor,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
            revoked_at=None,
            revoked_by=None,
            last_used_at=None,
            rate_per_s=rate_per_s,
        )
        store.keys.insert(conn, record)
        store.audit.append(
            conn,
            actor=actor,
            action="key.create",
            object_type="key",
            object_id=record.id,
            data={
                "name": name,
                "prefix": record.prefix,
                "role": role,
                "owner": record.owner,
                "expires_at": record.expires_at.isoformat() if record.expires_at else None,
            },
        )
    return NewKey(token, record)


def list_keys(store: Store, *, include_revoked: bool = True) -> list[KeyRecord]:
    """Every key, oldest first (revoked ones unless ``include_revoked=False``)."""
    keys = store.keys.records()
    return keys if include_revoked else [k for k in keys if k.revoked_at is None]


def revoke_key(
    store: Store, which: str, *, actor: str, reason: str | None = None
) -> list[KeyRecord]:
    """Revoke the key with id or prefix ``which``, or every unrevoked key named ``which``.
    Gateways stop taking it at their next poll (within a second or so)."""
    which = which.strip()
    if not which:
        raise UsageError("name the key to revoke", hint="`liveops keys list` shows them")
    with store.write() as conn:
        live = [k for k in store.keys.records(conn) if k.revoked_at is None]
        chosen = [k for k in live if which in (k.id, k.prefix, k.name)]
        if not chosen and len(which) >= 6:
            chosen = [k for k in live if k.prefix.startswith(which)]
        if not chosen:
            raise NotFoundError(
                f"no unrevoked key has the id, prefix or name {which!r}",
                hint="`liveops keys list` shows the keys (revoked ones are marked)",
            )
        now = store.clock.now()
        for k in chosen:
            store.keys.revoke(conn, k.id, actor, now)
            store.audit.append(
                conn,
                actor=actor,
                action="key.revoke",
                object_type="key",
                object_id=k.id,
                reason=reason,
                data={"name": k.name, "prefix": k.prefix},
            )
        ids = {k.id for k in chosen}
        return [k for k in store.keys.records(conn) if k.id in ids]
