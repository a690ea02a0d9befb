"""One exception tree for liveops.

Every error a user can cause or meet is a :class:`LiveopsError`. Each class carries an HTTP
status (used by the server) and a stable ``code`` (used in JSON output and API answers), and
every message says what happened; ``hint`` says what to do next.

::

    LiveopsError                      4xx/5xx   exit 4
    ├── UsageError                    400       exit 2   a command or request is malformed
    ├── UnauthenticatedError          401       exit 4   no API key, or one that is unknown,
    │                                                    revoked or expired
    ├── ForbiddenError                403       exit 4   the key's role does not allow this
    ├── NotFoundError                 404       exit 4
    │   ├── ServiceNotFound
    │   ├── VersionNotFound
    │   ├── DatasetNotFound
    │   ├── ObjectNotFound            (runs, reviews, events, predictions, ...)
    │   └── ProjectNotFound           (no liveops.yaml here or above)
    ├── InvalidInputError             422       exit 4   data that does not fit its schema
    │   ├── ProjectFileError          (liveops.yaml / suite files: names the line and field)
    │   └── DatasetFileError          (unreadable or malformed data files)
    ├── ConflictError                 409       exit 4   the state does not allow this now
    ├── IntegrityError                500       exit 4   stored content does not match its hash
    │   └── ArtifactIntegrityError
    ├── ModelError                    500       exit 4   a model could not be loaded or raised
    ├── StoreUnavailableError         503       exit 4   the database cannot be reached
    ├── ModelUnavailableError         503       exit 4   no model or fallback can answer now
    └── OverloadedError               429       exit 4   back-pressure: try again later
        └── RateLimitedError                               a key (or address) over its rate

The exit codes are mapped in one place, ``liveops.cli.main.error_exit_code``. A failed check is
not an error: checked conditions (gates, readiness, ``audit verify``) report their verdict as
data and ``liveops.core.exits.exit_code`` maps it to exit code 1 or 3.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ArtifactIntegrityError",
    "ConflictError",
    "DatasetFileError",
    "DatasetNotFound",
    "ForbiddenError",
    "IntegrityError",
    "InvalidInputError",
    "LiveopsError",
    "ModelError",
    "ModelUnavailableError",
    "NotFoundError",
    "ObjectNotFound",
    "OverloadedError",
    "ProjectFileError",
    "ProjectNotFound",
    "RateLimitedError",
    "ServiceNotFound",
    "StoreUnavailableError",
    "UnauthenticatedError",
    "UsageError",
    "VersionNotFound",
]


class LiveopsError(Exception):
    """Base of every liveops error: a message, a hint for the next step, a status and a code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.details:
            out["details"] = self.details
        return out


class UsageError(LiveopsError):
    status = 400
    code = "usage"


class UnauthenticatedError(LiveopsError):
    status = 401
    code = "unauthenticated"


class ForbiddenError(LiveopsError):
    status = 403
    code = "forbidden"


class NotFoundError(LiveopsError):
    status = 404
    code = "not_found"


class ServiceNotFound(NotFoundError):
    code = "service_not_found"


class VersionNotFound(NotFoundError):
    code = "version_not_found"


class DatasetNotFound(NotFoundError):
    code = "dataset_not_found"


class ObjectNotFound(NotFoundError):
    code = "object_not_found"


class ProjectNotFound(NotFoundError):
    code = "project_not_found"


class InvalidInputError(LiveopsError):
    status = 422
    code = "invalid_input"


class ProjectFileError(InvalidInputError):
    code = "invalid_project_file"


class DatasetFileError(InvalidInputError):
    code = "invalid_dataset_file"


class ConflictError(LiveopsError):
    status = 409
    code = "conflict"


class IntegrityError(LiveopsError):
    status = 500
    code = "integrity"


class ArtifactIntegrityError(IntegrityError):
    code = "artifact_integrity"


class ModelError(LiveopsError):
    status = 500
    code = "model_error"


class ModelUnavailableError(LiveopsError):
    status = 503
    code = "model_unavailable"


class StoreUnavailableError(LiveopsError):
    status = 503
    code = "store_unavailable"


class OverloadedError(LiveopsError):
    status = 429
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: float = 1.0, hint: str | None = None):
        super().__init__(message, hint=hint, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class RateLimitedError(OverloadedError):
    code = "rate_limited"
