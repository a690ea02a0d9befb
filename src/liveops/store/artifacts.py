"""Content-addressed artifact storage: files named by their sha256, checked on every load.

The root is ``.liveops/artifacts`` by default, or ``LIVEOPS_ARTIFACTS`` (a path every gateway
replica can read). Writes go to a temporary file and are renamed into place, so a reader never
sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from liveops.errors import ArtifactIntegrityError, ObjectNotFound

ENV_ARTIFACTS = "LIVEOPS_ARTIFACTS"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put_file(self, source: Path) -> str:
        """Copy ``source`` in; returns its sha256. Storing the same content twice is a no-op."""
        return self.put_bytes(source.read_bytes())

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_of(digest)
        if target.exists() and sha256_file(target) == digest:
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def verified_path(self, digest: str) -> Path:
        """The path of artifact ``digest`` after checking its content still has that hash."""
        path = self.path_of(digest)
        if not path.exists():
            raise ObjectNotFound(
                f"artifact {digest[:12]} is not in the artifact store at {self.root}",
                hint=f"check {ENV_ARTIFACTS} points at the store every replica shares",
            )
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactIntegrityError(
                f"artifact {digest[:12]} at {path} was changed after it was stored "
                f"(its content now hashes to {actual[:12]}); refusing to load it",
                hint="restore the file from a backup or register the model again",
            )
        return path

    def read_bytes(self, digest: str) -> bytes:
        """The content of artifact ``digest``, verified in the same read."""
        path = self.path_of(digest)
        if not path.exists():
            self.verified_path(digest)  # raises the not-found error
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            self.verified_path(digest)  # raises the integrity error with the details
        return data
