"""Content identity: a stable sha256 over canonical JSON.

>>> content_hash({"b": 1, "a": [1.0, "x"]}) == content_hash({"a": [1.0, "x"], "b": 1})
True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any) -> str:
    """The sha256 hex digest of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def short(digest: str, n: int = 12) -> str:
    """The first ``n`` characters of a digest, for display."""
    return digest[:n]
