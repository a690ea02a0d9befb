"""API keys and roles: keys made, listed and revoked (keys), and the gateway's check (auth).
The role x permission table is in ``liveops.core.access`` (and docs/access.md)."""

from __future__ import annotations

from liveops.services.access.auth import Authenticator, Principal, bearer_token
from liveops.services.access.keys import NewKey, create_key, list_keys, revoke_key

__all__ = [
    "Authenticator",
    "NewKey",
    "Principal",
    "bearer_token",
    "create_key",
    "list_keys",
    "revoke_key",
]
