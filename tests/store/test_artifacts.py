"""The content-addressed artifact store."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.errors import ArtifactIntegrityError, ObjectNotFound
from liveops.store.artifacts import ArtifactStore


def test_put_is_idempotent_and_verified(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a")
    digest = store.put_bytes(b"hello")
    assert store.put_bytes(b"hello") == digest
    assert store.read_bytes(digest) == b"hello"
    assert store.verified_path(digest).read_bytes() == b"hello"
    assert not list(store.path_of(digest).parent.glob(".tmp-*"))


def test_changed_and_missing_artifacts_are_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a")
    digest = store.put_bytes(b"model bytes")
    store.path_of(digest).write_bytes(b"model bytez")
    with pytest.raises(ArtifactIntegrityError, match="changed after it was stored"):
        store.read_bytes(digest)
    with pytest.raises(ArtifactIntegrityError):
        store.verified_path(digest)
    # storing the right content again repairs it
    assert store.put_bytes(b"model bytes") == digest
    assert store.read_bytes(digest) == b"model bytes"
    with pytest.raises(ObjectNotFound):
        store.read_bytes("0" * 64)
